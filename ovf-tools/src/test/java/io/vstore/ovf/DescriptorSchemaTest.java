package io.vstore.ovf;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.Corpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the writer produces validates against DMTF's schemas with {@code xmllint --nonet --schema},
 * in OVF 1.x and 2.x, and reads back to the same model (every corpus descriptor, re-written).
 */
class DescriptorSchemaTest {
  @TempDir Path tmp;

  @Test
  void handWrittenDescriptorValidatesInBothVersionsAndReadsBack() throws Exception {
    Xmllint.assumeInstalled();
    OvfDescriptor d = DescriptorReader.read(DescriptorReaderTest.utf8(DescriptorReaderTest.envelope(
        "<File ovf:id=\"f\" ovf:href=\"a.vmdk\" ovf:size=\"512\"/>",
        "<Disk ovf:diskId=\"d1\" ovf:fileRef=\"f\" ovf:capacity=\"3\" ovf:capacityAllocationUnits=\"byte*2^30\"/>",
        DescriptorReaderTest.HARDWARE)), "t");
    for (OvfVersion v : List.of(OvfVersion.V1, OvfVersion.V2)) {
      Path out = tmp.resolve("hand-" + v + ".ovf");
      Files.write(out, DescriptorWriter.write(d, v));
      Xmllint.assertValid(out, v);
      OvfDescriptor back = DescriptorReader.read(out);
      assertThat(back.version()).isEqualTo(v);
      assertThat(back.disks()).isEqualTo(d.disks());
      assertThat(back.files()).isEqualTo(d.files());
      assertThat(mapped(back)).isEqualTo(mapped(d));
    }
  }

  @Test
  void everyCorpusDescriptorRewrittenValidatesAndMapsTheSame() throws Exception {
    Xmllint.assumeInstalled();
    List<Path> files;
    try (Stream<Path> s = Files.list(Corpus.root().resolve("ovf"))) {
      files = s.filter(p -> p.toString().endsWith(".ovf")).sorted().toList();
    }
    for (Path f : files) {
      OvfDescriptor d = DescriptorReader.read(f);
      for (OvfVersion v : List.of(OvfVersion.V1, OvfVersion.V2)) {
        Path out = tmp.resolve(f.getFileName() + "." + v + ".ovf");
        Files.write(out, DescriptorWriter.write(d, v));
        Xmllint.assertValid(out, v);
        OvfDescriptor back = DescriptorReader.read(out);
        assertThat(back.disks()).as(out.toString()).isEqualTo(d.disks());
        assertThat(back.deploymentOptions()).as(out.toString()).isEqualTo(d.deploymentOptions());
        assertThat(back.allProducts()).as(out.toString()).isEqualTo(d.allProducts());
        for (DeploymentOption o : d.deploymentOptions()) {
          assertThat(mapped(back, o.id())).as(out + " option " + o.id()).isEqualTo(mapped(d, o.id()));
        }
        assertThat(mapped(back)).as(out.toString()).isEqualTo(mapped(d));
      }
    }
  }

  private static List<VmConfiguration> mapped(OvfDescriptor d) throws OvfException {
    return mapped(d, null);
  }

  private static List<VmConfiguration> mapped(OvfDescriptor d, String option) throws OvfException {
    List<VmConfiguration> out = new ArrayList<>();
    for (VirtualSystem vs : d.systems()) {
      out.add(HardwareMapping.map(d, vs, option, Map.of(), Map.of(), new ArrayList<>()));
    }
    return out;
  }
}
