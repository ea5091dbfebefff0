package io.vstore.backup.repo;

import java.util.List;

/**
 * What {@link Repository#check} or {@link Repository#verify} found.
 *
 * @param problems each problem found, naming the object; empty if the repository is sound
 * @param objects objects examined
 * @param chunks chunks examined (index entries for check, blobs read for verify)
 * @param bytes bytes read
 */
public record RepositoryReport(List<Problem> problems, long objects, long chunks, long bytes) {
  public RepositoryReport {
    problems = List.copyOf(problems);
  }

  /** Returns true if no problem was found. */
  public boolean ok() {
    return problems.isEmpty();
  }

  /**
   * One problem.
   *
   * @param object the object key ({@code data/ab/…}, {@code index/…}, {@code points/…})
   * @param message what was expected and what was found
   */
  public record Problem(String object, String message) {
    @Override
    public String toString() {
      return object + ": " + message;
    }
  }
}
