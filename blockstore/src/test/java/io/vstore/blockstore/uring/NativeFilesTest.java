package io.vstore.blockstore.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeFilesTest {
  @TempDir Path dir;

  @Test
  void missingFileNamesTheFileAndErrno() {
    Path missing = dir.resolve("no-such-file");
    assertThatThrownBy(() -> NativeFiles.openReadOnly(missing))
        .isInstanceOf(java.nio.file.NoSuchFileException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("(ENOENT)");
  }

  @Test
  void openAndCloseReleaseTheDescriptor() throws IOException {
    Path file = Files.write(dir.resolve("f"), new byte[] {1, 2, 3});
    int fd = NativeFiles.openReadOnly(file);
    assertThat(fd).isNotNegative();
    Path link = Path.of("/proc/self/fd/" + fd);
    assertThat(Files.readSymbolicLink(link)).isEqualTo(file);
    NativeFiles.close(fd);
    // Counting all descriptors would race other threads of the test JVM; the number may be
    // reused at once, but never for this file.
    assertThat(!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS) || !file.equals(Files.readSymbolicLink(link)))
        .as("descriptor %d closed", fd).isTrue();
  }

  @Test
  void closingAClosedDescriptorFailsWithEbadf() throws IOException {
    int fd = NativeFiles.openReadOnly(Files.write(dir.resolve("f"), new byte[1]));
    NativeFiles.close(fd);
    assertThatThrownBy(() -> NativeFiles.close(fd))
        .isInstanceOf(IOException.class)
        .hasMessage("close fd " + fd + ": Bad file descriptor (EBADF)");
    assertThatThrownBy(() -> NativeFiles.close(-1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void directoryOpensReadOnly() throws IOException {
    // O_RDONLY without O_DIRECTORY still opens directories; reading one fails later with EISDIR.
    int fd = NativeFiles.openReadOnly(dir);
    NativeFiles.close(fd);
  }
}
