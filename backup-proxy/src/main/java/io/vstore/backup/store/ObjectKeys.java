package io.vstore.backup.store;

/** The key syntax every {@link ObjectStore} accepts, checked in one place. */
public final class ObjectKeys {
  /** Longest key accepted: far above what the repository makes, far below file-name and S3 limits. */
  public static final int MAX_LENGTH = 512;
  /** Longest segment accepted: a segment is a file name in a {@link DirectoryStore}, and those end at 255 bytes. */
  public static final int MAX_SEGMENT_LENGTH = 200;

  private ObjectKeys() {}

  /**
   * Returns {@code key} if it is a valid object key: {@code /}-separated non-empty segments of
   * {@code [a-z0-9._-]} of at most {@link #MAX_SEGMENT_LENGTH} characters, no segment {@code .} or
   * {@code ..}, at most {@link #MAX_LENGTH} characters in all.
   *
   * @throws IllegalArgumentException naming the key and what is wrong with it
   */
  public static String check(String key) {
    if (key == null || key.isEmpty() || key.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("bad object key: " + (key == null ? "null" : "length " + key.length()));
    }
    int segmentStart = 0;
    for (int i = 0; i <= key.length(); i++) {
      char c = i < key.length() ? key.charAt(i) : '/';
      if (c == '/') {
        String segment = key.substring(segmentStart, i);
        if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
          throw new IllegalArgumentException("bad object key: '" + key + "' has an empty, '.' or '..' segment");
        }
        if (segment.length() > MAX_SEGMENT_LENGTH) {
          throw new IllegalArgumentException("bad object key: a segment of " + segment.length()
              + " characters (at most " + MAX_SEGMENT_LENGTH + ")");
        }
        segmentStart = i + 1;
      } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
        throw new IllegalArgumentException("bad object key: '" + key + "' holds the character '" + c + "'");
      }
    }
    return key;
  }

  /** Returns {@code prefix} if it is empty or a valid key prefix (a key, optionally ending in {@code /}). */
  public static String checkPrefix(String prefix) {
    if (prefix.isEmpty()) {
      return prefix;
    }
    check(prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix);
    return prefix;
  }
}
