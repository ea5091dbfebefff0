package io.vstore.server.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.server.auth.Scope;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SessionsTest {
  /** A clock the test moves by hand. */
  static final class ManualClock implements InstantSource {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public Instant instant() {
      return now;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }
  }

  private final ManualClock clock = new ManualClock();
  private final Sessions sessions = new Sessions(clock, () -> 8080);

  @Test
  void aLoginSecretOpensOneSessionOnce() {
    String secret = sessions.newLogin(Scope.WRITE);
    Optional<String> cookie = sessions.redeem(secret);
    assertThat(cookie).isPresent();
    assertThat(cookie.get()).isNotEqualTo(secret);
    assertThat(sessions.redeem(secret)).isEmpty();
    Sessions.Session s = sessions.find(cookie.get()).orElseThrow();
    assertThat(s.principal().scope()).isEqualTo(Scope.WRITE);
    assertThat(s.csrfToken()).hasSizeGreaterThanOrEqualTo(40).isNotEqualTo(cookie.get());
    assertThat(sessions.redeem("not-a-secret")).isEmpty();
    assertThat(sessions.redeem(null)).isEmpty();
  }

  @Test
  void aLoginSecretExpiresAfterFiveMinutes() {
    String early = sessions.newLogin(Scope.ADMIN);
    String late = sessions.newLogin(Scope.ADMIN);
    clock.advance(Sessions.LOGIN_TTL.minusSeconds(1));
    assertThat(sessions.redeem(early)).isPresent();
    clock.advance(Duration.ofSeconds(1));
    assertThat(sessions.redeem(late)).isEmpty();
  }

  @Test
  void aSessionEndsAfterTwelveIdleHoursButUseKeepsItAlive() {
    String kept = sessions.redeem(sessions.newLogin(Scope.ADMIN)).orElseThrow();
    String idle = sessions.redeem(sessions.newLogin(Scope.ADMIN)).orElseThrow();
    for (int i = 0; i < 3; i++) {
      clock.advance(Sessions.IDLE_TTL.minusMinutes(1));
      assertThat(sessions.find(kept)).as("used every 11 h 59 min").isPresent();
    }
    assertThat(sessions.find(idle)).isEmpty();
    clock.advance(Sessions.IDLE_TTL);
    assertThat(sessions.find(kept)).isEmpty();
    assertThat(sessions.size()).isZero();
  }

  @Test
  void sessionsAreBoundedAndTheLeastRecentlyUsedGoesFirst() {
    List<String> cookies = new ArrayList<>();
    for (int i = 0; i < Sessions.MAX_SESSIONS; i++) {
      cookies.add(sessions.redeem(sessions.newLogin(Scope.READ)).orElseThrow());
    }
    assertThat(sessions.find(cookies.getFirst())).isPresent(); // now the second is least recently used
    String extra = sessions.redeem(sessions.newLogin(Scope.READ)).orElseThrow();
    assertThat(sessions.size()).isEqualTo(Sessions.MAX_SESSIONS);
    assertThat(sessions.find(extra)).isPresent();
    assertThat(sessions.find(cookies.getFirst())).isPresent();
    assertThat(sessions.find(cookies.get(1))).isEmpty();
  }

  @Test
  void outstandingLoginsAreBoundedAndTheOldestIsDropped() {
    List<String> secrets = new ArrayList<>();
    for (int i = 0; i <= Sessions.MAX_LOGINS; i++) {
      secrets.add(sessions.newLogin(Scope.READ));
    }
    assertThat(sessions.redeem(secrets.getFirst())).isEmpty();
    assertThat(sessions.redeem(secrets.get(1))).isPresent();
    assertThat(sessions.redeem(secrets.getLast())).isPresent();
  }
}
