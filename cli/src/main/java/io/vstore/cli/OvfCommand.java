package io.vstore.cli;

import io.vstore.ovf.DescriptorReader;
import io.vstore.ovf.OvfDescriptor;
import io.vstore.ovf.OvfExport;
import io.vstore.ovf.OvfImport;
import io.vstore.ovf.OvfVersion;
import io.vstore.ovf.ProbeReport;
import io.vstore.ovf.pkg.DigestAlgorithm;
import io.vstore.ovf.pkg.DiskReader;
import io.vstore.ovf.pkg.OvfPackage;
import io.vstore.ovf.pkg.PackageSigner;
import io.vstore.ovf.pkg.SignaturePolicy;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore ovf ...}: OVF and OVA appliances, probed, imported into the VM inventory, and exported. */
@Command(name = "ovf", description = "Probe, import and export OVF/OVA appliances (OVF 0.9, 1.x and 2.x).",
    mixinStandardHelpOptions = true, subcommands = {OvfCommand.Probe.class, OvfCommand.Import.class, OvfCommand.Export.class})
final class OvfCommand {
  private OvfCommand() {}

  /** The signature options of commands that read a package. */
  static final class TrustOptions {
    @Option(names = "--require-signature", description = "Refuse a package that is unsigned or signed by an untrusted chain.")
    boolean requireSignature;
    @Option(names = "--trust", paramLabel = "PEM", description = "Trust certificates in this PEM file as chain anchors; repeatable.")
    List<Path> trust = new ArrayList<>();

    SignaturePolicy policy() throws java.io.IOException {
      return SignaturePolicy.of(requireSignature, trust);
    }
  }

  @Command(name = "probe", description = "Show what a package holds: VMs (CPUs, memory, disks, NICs, controllers), disks,"
      + " networks, deployment options, properties, EULAs and warnings.")
  static final class Probe implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "FILE", description = "An .ova, an .ovf descriptor, or a directory holding one.")
    Path file;
    @Mixin TrustOptions trust;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      ProbeReport report;
      try (OvfPackage pkg = OvfPackage.open(file, trust.policy())) {
        OvfDescriptor d = DescriptorReader.read(pkg.descriptor(), pkg.descriptorName());
        ProbeReport r = ProbeReport.of(d, file.toString());
        List<String> warnings = new ArrayList<>(pkg.warnings());
        warnings.addAll(r.warnings());
        warnings.add(0, "signature: " + pkg.signature());
        report = new ProbeReport(r.source(), r.ovfVersion(), r.name(), r.systems(), r.disks(), r.files(), r.networks(),
            r.deploymentOptions(), r.properties(), r.eulas(), List.copyOf(warnings));
      }
      output.print(report, (PrintWriter out, ProbeReport r) -> out.print(r.text()));
      return 0;
    }
  }

  @Command(name = "import", description = "Create VMs (one per virtual system) with volumes for their disks from an OVA,"
      + " an OVF directory or descriptor; all or nothing.")
  static final class Import implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "FILE",
        description = "An .ova, an .ovf descriptor, a directory holding one, or '-' for an OVA on stdin.")
    Path file;
    @Option(names = "--name", paramLabel = "NAME",
        description = "Name of the VM (of a collection: the prefix of each VM's name); default: the descriptor's.")
    String name;
    @Option(names = "--deployment-option", paramLabel = "ID", description = "Deployment option (default: the package's).")
    String option;
    @Option(names = "--prop", paramLabel = "KEY=VALUE", description = "Set a property (key or class.key.instance); repeatable.")
    Map<String, String> props = new LinkedHashMap<>();
    @Option(names = "--net", paramLabel = "OVFNET=NET", description = "Connect the package's network OVFNET to NET; repeatable.")
    Map<String, String> nets = new LinkedHashMap<>();
    @Option(names = "--accept-eula", description = "Accept the package's license agreements.") boolean acceptEula;
    @Mixin TrustOptions trust;
    @Mixin ProgressOptions progressOptions;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      OvfImport.Request req = new OvfImport.Request(file, name, option, props, nets, acceptEula, trust.policy());
      // '-': an OVA read from standard input in one pass (the package layer never seeks).
      boolean std = StdIo.isStd(spec, "FILE");
      // The package is opened before the datastore: reading its manifest starts the digest's
      // set-up on another thread (DigestAlgorithm.prime), which then overlaps opening the datastore;
      // so does the grain inflater's.
      DiskReader.primeInflater();
      try (OvfPackage pkg = std ? OvfPackage.open(StdIo.in(), "stdin", req.policy()) : OvfPackage.open(file, req.policy());
          EngineSession s = EngineSession.open(location, spec.commandLine().getErr());
          OvfImport imp = OvfImport.prepare(s.inventory, pkg, req)) {
        OvfImport.Result r;
        try (Progress progress = progressOptions.bar("import " + String.join(",", imp.vmNames()), imp.totalBytes())) {
          r = imp.run(progress);
        }
        for (String w : r.warnings()) {
          spec.commandLine().getErr().println("warning: " + w);
        }
        out.println("imported " + file + " as VM(s) " + String.join(", ", r.vms()) + " with volumes "
            + String.join(", ", r.volumes()) + " (" + Sizes.format(r.bytesWritten()) + " of data)");
      }
      return 0;
    }
  }

  @Command(name = "export", description = "Write a VM, or a desktop pool as a collection of its desktops, as an OVA"
      + " (FILE.ova) or an OVF directory: streamOptimized VMDK disks (linked clones as deltas over one base) and a manifest.")
  static final class Export implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VM|POOL", description = "The VM or desktop pool to export.") String vm;
    @Option(names = "--to", paramLabel = "FILE.ova|DIR", required = true,
        description = "The OVA to create, or a directory (new or empty) for the OVF files.") Path target;
    @ArgGroup(exclusive = true) Digest digest;
    @Option(names = "--sign", paramLabel = "PEM", description = "Sign the manifest with the key and certificate chain in PEM.")
    Path sign;
    @Option(names = "--chunk-size", paramLabel = "SIZE", description = "Split each disk file into chunks of SIZE (e.g. 2G).")
    Long chunkSize;
    @Option(names = "--compress", description = "Gzip the disk files (ovf:compression).") boolean compress;
    @Option(names = "--format", paramLabel = "ovf1|ovf2", defaultValue = "ovf1",
        description = "Descriptor version: ovf1 (OVF 1.x, default) or ovf2 (OVF 2.x).") String format;
    @Mixin ProgressOptions progressOptions;

    static final class Digest {
      @Option(names = "--sha1", description = "SHA1 manifest (for old ESXi).") boolean sha1;
      @Option(names = "--sha256", description = "SHA256 manifest (default).") boolean sha256;
      @Option(names = "--sha512", description = "SHA512 manifest.") boolean sha512;
    }

    @Override
    public Integer call() throws Exception {
      OvfVersion version = switch (format) {
        case "ovf1" -> OvfVersion.V1;
        case "ovf2" -> OvfVersion.V2;
        default -> throw new IllegalArgumentException("bad --format '" + format + "': use ovf1 or ovf2");
      };
      DigestAlgorithm alg = digest == null || digest.sha256 ? DigestAlgorithm.SHA256
          : digest.sha1 ? DigestAlgorithm.SHA1 : DigestAlgorithm.SHA512;
      PackageSigner signer = sign == null ? null : PackageSigner.load(sign);
      alg.prime(); // the digest's set-up overlaps opening the datastore
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        OvfExport.Result r;
        try (Progress progress = progressOptions.bar("export " + vm, OvfExport.totalBytes(s.inventory, vm))) {
          r = OvfExport.run(s.inventory, new OvfExport.Request(vm, target, alg, signer,
              chunkSize == null ? 0 : chunkSize, compress, version), progress);
        }
        for (String w : r.warnings()) {
          spec.commandLine().getErr().println("warning: " + w);
        }
        spec.commandLine().getOut().println("exported VM " + vm + " to " + r.target() + " (" + Sizes.format(r.bytes()) + ")");
      }
      return 0;
    }
  }
}
