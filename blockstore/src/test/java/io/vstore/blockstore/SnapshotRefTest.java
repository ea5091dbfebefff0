package io.vstore.blockstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

final class SnapshotRefTest {
  @Test
  void parsesHeadsAndSnapshots() {
    assertThat(SnapshotRef.parse("vm1")).isEqualTo(new SnapshotRef("vm1", null));
    assertThat(SnapshotRef.parse("vm1").isSnapshot()).isFalse();
    SnapshotRef s = SnapshotRef.parse("vm1@monday.1");
    assertThat(s.volume()).isEqualTo("vm1");
    assertThat(s.snapshot()).isEqualTo("monday.1");
    assertThat(s.isSnapshot()).isTrue();
    assertThat(s).hasToString("vm1@monday.1");
    assertThat(SnapshotRef.parseSnapshot("web@before", "vm")).isEqualTo(new SnapshotRef("web", "before"));
  }

  @Test
  void refusesMalformedSpecsNamingThem() {
    for (String bad : new String[] {"@s", "v@", "a@b@c", "", "-v", "v@-s", "v w"}) {
      assertThatThrownBy(() -> SnapshotRef.parse(bad)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'");
    }
    assertThatThrownBy(() -> SnapshotRef.parseSnapshot("vm1", "vm"))
        .hasMessage("'vm1' is not a snapshot: expected VM@SNAPSHOT");
    assertThatThrownBy(() -> SnapshotRef.parse("a".repeat(129))).hasMessageStartingWith("bad volume name");
    assertThatThrownBy(() -> SnapshotRef.parseSnapshot("a b@s", "VM")).hasMessageStartingWith("bad VM name 'a b'");
  }
}
