package io.vstore.server.web;

import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless chromium driven through Debian's chromedriver, both named explicitly so that
 * Selenium never looks for (or downloads) a browser or driver of its own.
 */
final class Browser {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  /** Where screenshots go: the module's target directory (surefire runs in the module). */
  static final Path SCREENSHOTS = Path.of("target", "screenshots");

  private Browser() {}

  /**
   * Starts a headless browser with a fresh profile in {@code profile}. Skips the test (visibly)
   * when chromium or chromedriver is not installed, except under CI, which installs both and so
   * must run these tests.
   */
  static WebDriver start(Path profile) {
    boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    String reason = "the dashboard browser tests need Debian's chromium and chromium-driver ("
        + CHROMIUM + ", " + CHROMEDRIVER + "): apt-get install chromium chromium-driver";
    if (!present && "true".equals(System.getenv("CI"))) {
      fail("CI must run the browser tests, but " + reason);
    }
    assumeTrue(present, reason);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort()
        .build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1400,1100", "--user-data-dir=" + profile.toAbsolutePath());
    WebDriver driver = new ChromeDriver(service, options);
    driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
    return driver;
  }

  /** Saves a screenshot of the page as {@code target/screenshots/<name>.png}. */
  static Path screenshot(WebDriver driver, String name) throws IOException {
    Files.createDirectories(SCREENSHOTS);
    Path to = SCREENSHOTS.resolve(name + ".png");
    Path shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE).toPath();
    Files.copy(shot, to, StandardCopyOption.REPLACE_EXISTING);
    return to;
  }
}
