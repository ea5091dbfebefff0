package io.vstore.backup.repo;

import java.util.HexFormat;

/** Object keys of the repository layout, built in one place. */
final class Hex {
  private static final HexFormat HEX = HexFormat.of();

  private Hex() {}

  static String of(byte[] bytes) {
    return HEX.formatHex(bytes);
  }

  static byte[] parse(String hex) {
    return HEX.parseHex(hex);
  }

  static boolean isHex(String s, int digits) {
    if (s.length() != digits) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  static String packKey(byte[] packId) {
    String h = of(packId);
    return "data/" + h.substring(0, 2) + "/" + h;
  }

  static String pageKey(ChunkId pageId) {
    String h = pageId.hex();
    return "pages/" + h.substring(0, 2) + "/" + h;
  }

  static String pointKey(String pointId) {
    return "points/" + pointId;
  }
}
