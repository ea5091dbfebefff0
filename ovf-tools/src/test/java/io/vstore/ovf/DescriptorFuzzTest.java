package io.vstore.ovf;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.Map;

/**
 * Feeds arbitrary bytes as a descriptor: reading either succeeds, and then probing and mapping every
 * system under every deployment option succeeds or fails with an {@link OvfException}, or reading
 * fails with an {@link OvfException}; never an unchecked exception, a hang or an unbounded allocation.
 */
class DescriptorFuzzTest {

  @FuzzTest(maxDuration = "30s")
  void anyBytesAreADescriptorOrAnOvfException(byte[] input) {
    try {
      OvfDescriptor d = DescriptorReader.read(input, "fuzz.ovf");
      ProbeReport.of(d, "fuzz.ovf").text();
      for (VirtualSystem vs : d.systems()) {
        for (DeploymentOption o : d.deploymentOptions()) {
          HardwareMapping.map(d, vs, o.id(), Map.of(), Map.of(), new ArrayList<>());
        }
      }
      DescriptorWriter.write(d, OvfVersion.V1);
      DescriptorWriter.write(d, OvfVersion.V2);
    } catch (OvfException expected) {
      // a one-line error naming what was wrong
    }
  }
}
