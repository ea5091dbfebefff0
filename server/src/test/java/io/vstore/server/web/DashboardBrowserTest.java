package io.vstore.server.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.Volume;
import java.nio.ByteBuffer;
import io.vstore.server.TestDaemon;
import io.vstore.server.jobs.JobInfo;
import io.vstore.server.jobs.Jobs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser (headless chromium): log in through the one-time link, watch
 * objects made through the API appear, act from the page, and follow a job to 100%.
 */
class DashboardBrowserTest {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static WebDriver browser;
  private static Path profile;

  @TempDir Path tmp;
  private TestDaemon daemon;
  private Jobs jobs;

  @BeforeAll
  static void startBrowser() throws Exception {
    profile = Files.createTempDirectory("vstore-chromium-");
    browser = Browser.start(profile);
  }

  @AfterAll
  static void stopBrowser() throws Exception {
    if (browser != null) {
      browser.quit();
    }
    if (profile != null) {
      try (var files = Files.walk(profile)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @BeforeEach
  void startDaemon() throws Exception {
    daemon = TestDaemon.start(null, tmp.resolve("ds"));
    jobs = daemon.daemon().jobs();
    browser.manage().deleteAllCookies();
  }

  @AfterEach
  void stopDaemon() throws Exception {
    browser.get("about:blank"); // closes the page's event stream before the daemon stops
    daemon.close();
  }

  private String loginUrl() throws Exception {
    TestDaemon.Reply r = daemon.unix("POST", "/api/v1/dashboard/logins", null);
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json().get("url").asText();
  }

  private void logIn() throws Exception {
    browser.get(loginUrl());
    waitFor(By.cssSelector("#app:not([hidden])"));
  }

  private WebElement waitFor(By by) {
    return new WebDriverWait(browser, PATIENCE).until(ExpectedConditions.visibilityOfElementLocated(by));
  }

  /** Clicks what {@code by} finds, finding it again if the page redrew it in between. */
  private void click(By by) {
    new WebDriverWait(browser, PATIENCE).ignoring(StaleElementReferenceException.class).until(d -> {
      d.findElement(by).click();
      return true;
    });
  }

  private void waitForText(By by, String text) {
    new WebDriverWait(browser, PATIENCE).until(ExpectedConditions.textToBePresentInElementLocated(by, text));
  }

  private static By volume(String name) {
    return By.cssSelector("[data-volume=\"" + name + "\"]");
  }

  private static By snapshot(String ref) {
    return By.cssSelector("[data-snapshot=\"" + ref + "\"]");
  }

  @Test
  void logsInWithTheOneTimeLinkThenSeesAVolumeAndTakesASnapshotFromThePage() throws Exception {
    browser.get(daemon.baseUrl() + "/");
    waitFor(By.id("login"));
    assertThat(browser.findElement(By.id("app")).isDisplayed()).isFalse();
    Browser.screenshot(browser, "dashboard-logged-out");

    logIn();
    assertThat(browser.getCurrentUrl()).isEqualTo(daemon.baseUrl() + "/"); // the secret left the address bar
    assertThat(browser.findElement(By.id("user")).getText()).contains("admin");
    waitFor(By.cssSelector("[data-datastore=\"ds\"] [data-meter=\"Allocated\"] .bar"));

    TestDaemon.Reply created = daemon.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1-disk0\", \"size\": 1073741824}");
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    WebElement node = waitFor(volume("vm1-disk0"));
    assertThat(node.getText()).contains("vm1-disk0").contains("1.00 GiB");
    assertThat(browser.findElements(snapshot("vm1-disk0@before-patch"))).isEmpty();

    click(By.cssSelector("[data-volume=\"vm1-disk0\"] button[data-action=\"snapshot\"]"));
    WebElement input = waitFor(By.cssSelector("form[data-form=\"snapshot:vm1-disk0\"] input"));
    input.clear();
    input.sendKeys("before-patch");
    click(By.cssSelector("form[data-form=\"snapshot:vm1-disk0\"] button[type=\"submit\"]"));
    WebElement snap = waitFor(snapshot("vm1-disk0@before-patch"));
    assertThat(snap.getText()).contains("before-patch");
    // Drawn as a child of the volume in the tree, and really taken in the datastore.
    assertThat(browser.findElements(By.cssSelector("ul.tree > li > ul > li > [data-snapshot=\"vm1-disk0@before-patch\"]")))
        .hasSize(1);
    assertThat(daemon.daemon().byName(null).store().snapshots("vm1-disk0")).extracting(SnapshotInfo::name)
        .containsExactly("before-patch");

    click(By.cssSelector("[data-snapshot=\"vm1-disk0@before-patch\"] button[data-action=\"clone\"]"));
    waitFor(By.cssSelector("form[data-form=\"clone:vm1-disk0@before-patch\"] input[name=\"clone\"]")).sendKeys("desk1");
    click(By.cssSelector("form[data-form=\"clone:vm1-disk0@before-patch\"] button[type=\"submit\"]"));
    // The linked clone hangs under the snapshot it was cloned from.
    waitFor(By.cssSelector("li:has(> [data-snapshot=\"vm1-disk0@before-patch\"]) > ul > li > [data-volume=\"desk1\"]"));
    assertThat(daemon.daemon().byName(null).store().volumeInfo("desk1").parent()).isEqualTo("vm1-disk0@before-patch");
    Browser.screenshot(browser, "dashboard-volume-tree");
  }

  @Test
  void createsRevertsAndDeletesFromThePage() throws Exception {
    logIn();
    WebElement name = waitFor(By.cssSelector("#create-volume input[name=\"name\"]"));
    name.sendKeys("scratch");
    browser.findElement(By.cssSelector("#create-volume input[name=\"size\"]")).sendKeys("2G");
    click(By.cssSelector("#create-volume button[type=\"submit\"]"));
    waitForText(volume("scratch"), "2.00 GiB");
    Datastore store = daemon.daemon().byName(null).store();
    assertThat(store.volumeInfo("scratch").size()).isEqualTo(2L << 30);

    byte[] first = new byte[4096];
    java.util.Arrays.fill(first, (byte) 1);
    write(store, "scratch", first);
    assertThat(daemon.unix("POST", "/api/v1/volumes/scratch/snapshots", "{\"name\": \"s1\"}").status()).isEqualTo(201);
    write(store, "scratch", new byte[4096 * 2]);
    waitFor(snapshot("scratch@s1"));

    // Revert asks first; dismissing the question changes nothing.
    click(By.cssSelector("[data-snapshot=\"scratch@s1\"] button[data-action=\"revert\"]"));
    browser.switchTo().alert().dismiss();
    assertThat(read(store, "scratch")).isEqualTo(0);
    click(By.cssSelector("[data-snapshot=\"scratch@s1\"] button[data-action=\"revert\"]"));
    assertThat(browser.switchTo().alert().getText()).contains("Revert scratch to s1");
    browser.switchTo().alert().accept();
    waitForText(By.id("message"), "scratch reverted to s1");
    assertThat(read(store, "scratch")).isEqualTo(1);

    click(By.cssSelector("[data-snapshot=\"scratch@s1\"] button[data-action=\"delete\"]"));
    browser.switchTo().alert().accept();
    new WebDriverWait(browser, PATIENCE).until(ExpectedConditions.numberOfElementsToBe(snapshot("scratch@s1"), 0));
    assertThat(store.snapshots("scratch")).isEmpty();

    click(By.cssSelector("[data-volume=\"scratch\"] button[data-action=\"delete\"]"));
    browser.switchTo().alert().accept();
    new WebDriverWait(browser, PATIENCE).until(ExpectedConditions.numberOfElementsToBe(volume("scratch"), 0));
    assertThat(store.hasVolume("scratch")).isFalse();

    // A refused action shows the daemon's one-line message and changes nothing.
    browser.findElement(By.cssSelector("#create-volume input[name=\"name\"]")).sendKeys("bad/name");
    browser.findElement(By.cssSelector("#create-volume input[name=\"size\"]")).sendKeys("1G");
    click(By.cssSelector("#create-volume button[type=\"submit\"]"));
    WebElement message = waitFor(By.cssSelector("#message:not(.info)"));
    assertThat(message.getText()).contains("bad/name").doesNotContain("HTTP");
    assertThat(store.volumes()).isEmpty();
    Browser.screenshot(browser, "dashboard-refused-action");
  }

  @Test
  void showsCapacityBarsWithThresholdsAndTheRaisedAlarm() throws Exception {
    Datastore store = daemon.daemon().byName(null).store();
    store.createVolume("big", 64L << 20).close();
    byte[] data = new byte[4 << 20];
    new java.util.Random(7).nextBytes(data); // incompressible
    write(store, "big", data);
    store.flush();
    long allocated = store.info().allocated();
    store.setCapacity(allocated + allocated / 4, 50, 75); // 80% full: critical
    assertThat(store.info().alarms()).isNotEmpty();

    logIn();
    WebElement ds = waitFor(By.cssSelector("[data-datastore=\"ds\"]"));
    WebElement alarm = waitFor(By.cssSelector("[data-datastore=\"ds\"] .alarm.critical"));
    assertThat(alarm.getText()).startsWith("CRITICAL");
    WebElement bar = ds.findElement(By.cssSelector("[data-meter=\"Allocated\"] .bar"));
    assertThat(Double.parseDouble(bar.getAttribute("data-percent"))).isBetween(79.0, 81.0);
    assertThat(bar.findElements(By.cssSelector(".fill.critical"))).hasSize(1);
    assertThat(bar.findElements(By.cssSelector(".tick.warning"))).hasSize(1);
    assertThat(bar.findElements(By.cssSelector(".tick.critical"))).hasSize(1);
    assertThat(ds.getText()).contains("warning at 50%").contains("critical at 75%");
    Browser.screenshot(browser, "dashboard-capacity-alarm");
  }

  @Test
  void drawsVmSnapshotTreesAndThePoolsSpaceSavings() throws Exception {
    var inventory = daemon.daemon().byName(null).inventory();
    inventory.vms().create("web", List.of(256L << 20), null);
    byte[] data = new byte[4 << 20];
    new java.util.Random(3).nextBytes(data);
    write(daemon.daemon().byName(null).store(), "web-disk0", data);
    inventory.vms().snapshot("web", "gold", "golden image");
    inventory.vms().snapshot("web", "patch1", null);
    inventory.vms().revert("web", "gold");
    inventory.vms().snapshot("web", "patch2", null);
    inventory.pools().create("desk", "web", "gold", 5, 0, 0);

    logIn();
    // patch1 and patch2 both grew from gold: siblings under it, patch2 current.
    By gold = By.cssSelector("[data-vm=\"web\"] li:has(> [data-vm-snapshot=\"web@gold\"])");
    waitFor(gold);
    assertThat(browser.findElements(By.cssSelector("[data-vm=\"web\"] li:has(> [data-vm-snapshot=\"web@gold\"]) > ul > li > "
        + "[data-vm-snapshot]"))).extracting(e -> e.getAttribute("data-vm-snapshot"))
        .containsExactlyInAnyOrder("web@patch1", "web@patch2");
    assertThat(browser.findElement(By.cssSelector("[data-vm-snapshot=\"web@patch2\"]")).getText()).contains("CURRENT");
    assertThat(browser.findElement(By.cssSelector("[data-vm-snapshot=\"web@gold\"]")).getText()).contains("golden image");

    WebElement pool = waitFor(By.cssSelector("[data-pool=\"desk\"]"));
    var report = inventory.pools().report("desk");
    assertThat(report.provisioned()).isEqualTo(5 * (256L << 20));
    assertThat(pool.getText()).contains("web@gold").contains("1.25 GiB"); // five full copies of 256 MiB
    var savings = java.util.regex.Pattern.compile("\\((\\d+)%").matcher(pool.getText());
    assertThat(savings.find()).as(pool.getText()).isTrue();
    long saved = report.provisioned() - report.allocated();
    assertThat(Long.parseLong(savings.group(1))).isEqualTo(Math.round(100.0 * saved / report.provisioned()));

    // The pool's replica and desktops are linked clones, drawn under the snapshots they came from.
    waitFor(By.cssSelector("[data-snapshot=\"web-disk0@gold\"]"));
    assertThat(browser.findElements(By.cssSelector("li:has(> [data-snapshot=\"web-disk0@gold\"]) > ul > li > [data-volume]")))
        .isNotEmpty();
    Browser.screenshot(browser, "dashboard-vms-and-trees");
    ((JavascriptExecutor) browser).executeScript("arguments[0].scrollIntoView()", pool);
    Browser.screenshot(browser, "dashboard-pools");
  }

  @Test
  void listsNbdExportsAsTheyAreAdded() throws Exception {
    logIn();
    waitForText(By.id("stream"), "live");
    assertThat(daemon.unix("POST", "/api/v1/volumes", "{\"name\": \"db\", \"size\": 1073741824}").status()).isEqualTo(201);
    assertThat(daemon.unix("POST", "/api/v1/volumes/db/snapshots", "{\"name\": \"nightly\"}")
        .status()).isEqualTo(201);
    TestDaemon.Reply rw = daemon.unix("POST", "/api/v1/exports", "{\"spec\": \"db\", \"name\": \"db-live\"}");
    assertThat(rw.status()).as(rw.body()).isEqualTo(201);
    TestDaemon.Reply ro = daemon.unix("POST", "/api/v1/exports",
        "{\"spec\": \"db@nightly\", \"name\": \"db-nightly\", \"readOnly\": true}");
    assertThat(ro.status()).as(ro.body()).isEqualTo(201);
    WebElement live = waitFor(By.cssSelector("[data-export=\"db-live\"]"));
    WebElement nightly = waitFor(By.cssSelector("[data-export=\"db-nightly\"]"));
    assertThat(live.getText()).contains("db").contains("read-write").contains("none");
    assertThat(nightly.getText()).contains("db@nightly").contains("read-only");
  }

  private static void write(Datastore store, String volume, byte[] data) throws Exception {
    try (Volume v = store.volume(volume)) {
      v.write(0, ByteBuffer.wrap(data));
      v.flush();
    }
  }

  /** Returns the first byte of {@code volume}. */
  private static int read(Datastore store, String volume) throws Exception {
    try (Volume v = store.volume(volume, true)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      v.read(0, b);
      return b.get(0);
    }
  }

  @Test
  void showsAJobsProgressLiveUntilItReaches100Percent() throws Exception {
    logIn();
    waitForText(By.id("stream"), "live");
    CountDownLatch halfway = new CountDownLatch(1);
    JobInfo job = jobs.submit("ds", "check", "vm1-disk0", false, ctx -> {
      // Said again until the test has seen it: a job manager may drop updates that come too often.
      for (int i = 0; i < 600 && !halfway.await(100, TimeUnit.MILLISECONDS); i++) {
        ctx.update(400, 1000);
      }
      ctx.update(1000, 1000);
      return Map.of("exit", 0);
    });
    By row = By.cssSelector("[data-job=\"" + job.id() + "\"]");
    waitForText(By.cssSelector("[data-job=\"" + job.id() + "\"] .pct"), "40%");
    assertThat(browser.findElement(row).getText()).contains("check").contains("vm1-disk0").contains("running");
    assertThat(browser.findElement(row).findElement(By.cssSelector(".bar")).getAttribute("data-percent")).isEqualTo("40.0");
    Browser.screenshot(browser, "dashboard-job-running");

    halfway.countDown();
    waitForText(By.cssSelector("[data-job=\"" + job.id() + "\"] .pct"), "100%");
    waitForText(row, "succeeded");
    assertThat(browser.findElement(row).findElements(By.cssSelector("button[data-action=\"cancel\"]"))).isEmpty();
    Browser.screenshot(browser, "dashboard-job-done");
  }

  @Test
  void cancelsARunningJobFromThePage() throws Exception {
    logIn();
    JobInfo job = jobs.submit("ds", "check", "vm1-disk0", false, ctx -> {
      ctx.update(1, 100);
      for (int i = 0; i < 600 && !ctx.isCancelled(); i++) {
        Thread.sleep(100); // bounded: a minute at most, if the cancel never came
      }
      ctx.checkCancelled();
      return null;
    });
    By row = By.cssSelector("[data-job=\"" + job.id() + "\"]");
    By cancel = By.cssSelector("[data-job=\"" + job.id() + "\"] button[data-action=\"cancel\"]");
    waitFor(cancel);
    click(cancel);
    waitForText(row, "cancelled");
    assertThat(jobs.await(job.id(), Duration.ofSeconds(30)).state().label()).isEqualTo("cancelled");
  }

  @Test
  void logsOutAndTheSessionEnds() throws Exception {
    logIn();
    click(By.id("logout"));
    waitFor(By.id("login"));
    assertThat(browser.findElement(By.id("app")).isDisplayed()).isFalse();
    Object status = ((JavascriptExecutor) browser).executeAsyncScript("const done = arguments[arguments.length - 1];"
        + "fetch('/api/v1/dashboard/session').then(r => done(r.status), e => done(String(e)));");
    assertThat(status).isEqualTo(401L);
    browser.navigate().refresh();
    waitFor(By.id("login"));
  }

  @Test
  void refusesAStateChangeWithoutTheCsrfTokenAndAReusedLoginLink() throws Exception {
    String url = loginUrl();
    browser.get(url);
    waitFor(By.cssSelector("#app:not([hidden])"));
    JavascriptExecutor js = (JavascriptExecutor) browser;
    String script = "const done = arguments[arguments.length - 1];"
        + "const headers = arguments[0] ? {'X-CSRF-Token': arguments[0]} : {};"
        + "fetch('/api/v1/volumes', {method: 'POST', headers: {...headers, 'Content-Type': 'application/json'},"
        + " body: JSON.stringify({name: 'forged', size: 1048576})}).then(r => done(r.status), e => done(String(e)));";
    Object refused = js.executeAsyncScript(script, (Object) null);
    assertThat(refused).isEqualTo(403L);
    assertThat(daemon.daemon().byName(null).store().hasVolume("forged")).isFalse();

    Object token = js.executeAsyncScript("const done = arguments[arguments.length - 1];"
        + "fetch('/api/v1/dashboard/session').then(r => r.json()).then(s => done(s.csrfToken), e => done(String(e)));");
    assertThat(js.executeAsyncScript(script, token)).isEqualTo(201L);
    assertThat(daemon.daemon().byName(null).store().hasVolume("forged")).isTrue();

    // The session cookie is invisible to the page's scripts.
    assertThat((String) js.executeScript("return document.cookie;")).doesNotContain(Sessions.COOKIE_PREFIX);

    browser.get(url);
    assertThat(browser.findElement(By.tagName("body")).getText()).contains("not valid").contains("already used");
    Browser.screenshot(browser, "dashboard-login-reused");
    assertThat(List.of(browser.getCurrentUrl())).allMatch(u -> u.contains("/login"));
  }
}
