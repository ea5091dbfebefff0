package io.vstore.cli;

/**
 * Turns SIGINT and SIGTERM into a call, for servers whose normal stop they are. Without a handler
 * the JVM exits with 130 or 143 after its shutdown hooks, which service managers report as a failure.
 */
final class Signals {
  private Signals() {}

  /** Runs {@code stop} on SIGINT or SIGTERM instead of exiting; a no-op where signals cannot be handled. */
  @SuppressWarnings("removal")
  static void onStop(Runnable stop) {
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> stop.run());
      } catch (IllegalArgumentException | UnsupportedOperationException e) {
        // The JVM reserves the signal (-Xrs) or the platform lacks it: the shutdown hook still cleans up.
      }
    }
  }
}
