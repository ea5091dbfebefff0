package io.vstore.ovf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.engine.Inventory;
import io.vstore.engine.VirtualMachine;
import io.vstore.ovf.pkg.DiskReader;
import io.vstore.ovf.pkg.FileRef;
import io.vstore.ovf.pkg.OvfPackage;
import io.vstore.ovf.pkg.PackageFile;
import io.vstore.ovf.pkg.SignaturePolicy;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Imports an OVF package (OVA, OVF directory or descriptor) into the VM inventory: one VM per
 * virtual system, its {@code config} the mapped {@link VmConfiguration} (under {@code "ovf"}) with
 * the product sections, deployment options and EULAs beside it, and one volume per disk drive,
 * filled straight from the package by the package layer's {@link DiskReader} (no temporary files).
 * Disks that others are {@code parentRef} deltas of are imported once, into a base VM
 * ({@code NAME-base}) that is then snapshotted ({@value #BASE_SNAPSHOT}); each delta becomes a
 * linked clone of that snapshot with the delta applied on top, so the blocks they share are stored
 * once, as in the package.
 *
 * <p>All or nothing: everything is checked (EULA, options, properties, networks, names, the
 * package's references) before anything is created, and a failure while copying deletes every VM
 * the import created.
 */
public final class OvfImport implements Closeable {
  /** The JSON key of the VM configuration under which the mapped configuration is kept. */
  public static final String CONFIG_KEY = "ovf";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int COPY_BUFFER = 1 << 20;
  /** The snapshot of the base VM that the imported deltas are linked clones of. */
  public static final String BASE_SNAPSHOT = "ovf-import";

  /**
   * What to import and how.
   *
   * @param name the VM's name (one system) or the prefix of every VM's name (a collection); null: the descriptor's names
   * @param deploymentOption the deployment option, null for the default
   * @param properties property values by key or full key ({@code --prop})
   * @param networks OVF network name → vstore network name ({@code --net})
   */
  public record Request(Path source, String name, String deploymentOption, Map<String, String> properties,
      Map<String, String> networks, boolean acceptEula, SignaturePolicy policy) {}

  /** What the import created. */
  public record Result(List<String> vms, List<String> volumes, long bytesWritten, List<String> warnings) {}

  /**
   * One VM to create: its name, configuration JSON and, per volume, the disk chain (base first) that
   * fills it. In the base VM ({@code base}) every chain is copied whole; in the others a chain of
   * more than one disk is a linked clone of the base VM's volume of the leaf's parent, with the leaf
   * applied on it.
   */
  private record PlannedVm(String name, VmConfiguration config, ObjectNode json, List<Long> sizes, List<List<String>> chains,
      boolean base) {
    boolean hasClones() {
      return !base && chains.stream().anyMatch(c -> c.size() > 1);
    }
  }

  private final Inventory inventory;
  private final OvfPackage pkg;
  private final ImportMedia media;
  private final OvfDescriptor descriptor;
  private final List<PlannedVm> planned = new ArrayList<>();
  private final List<String> warnings = new ArrayList<>();
  private long totalBytes;

  private OvfImport(Inventory inventory, OvfPackage pkg, OvfDescriptor descriptor) {
    this.inventory = inventory;
    this.pkg = pkg;
    this.descriptor = descriptor;
    this.media = new ImportMedia(inventory, descriptor, warnings);
  }

  /** Opens the package and checks everything the import needs before creating anything. */
  public static OvfImport prepare(Inventory inventory, Request req) throws IOException {
    return prepare(inventory, OvfPackage.open(req.source(), req.policy() == null ? SignaturePolicy.DEFAULT : req.policy()),
        req);
  }

  /**
   * Checks everything the import of the opened package {@code pkg} (an OVA stream, for one) needs;
   * the import owns {@code pkg} from here and closes it, also when this fails.
   */
  public static OvfImport prepare(Inventory inventory, OvfPackage pkg, Request req) throws IOException {
    boolean success = false;
    try {
      OvfDescriptor d = DescriptorReader.read(pkg.descriptor(), pkg.name() + ":" + pkg.descriptorName());
      OvfImport imp = new OvfImport(inventory, pkg, d);
      imp.plan(req);
      success = true;
      return imp;
    } finally {
      if (!success) {
        pkg.close();
      }
    }
  }

  /** Returns the bytes of disk the import will cover, for a progress bar. */
  public long totalBytes() {
    return totalBytes;
  }

  /** Returns the names of the VMs the import will create. */
  public List<String> vmNames() {
    return planned.stream().map(PlannedVm::name).toList();
  }

  private void plan(Request req) throws IOException {
    warnings.addAll(pkg.warnings());
    warnings.addAll(descriptor.warnings());
    List<String> eulas = new ArrayList<>();
    collectEulas(descriptor.content(), eulas);
    if (!eulas.isEmpty() && !req.acceptEula()) {
      throw new OvfException("refused: " + pkg.name() + " has " + eulas.size()
          + " license agreement(s); read them with 'vstore ovf probe' and pass --accept-eula to accept");
    }
    checkProperties(req.properties());
    for (String net : req.networks().keySet()) {
      if (descriptor.networks().stream().noneMatch(n -> n.name().equals(net))) {
        throw OvfException.bad("--net " + net + ": the package has no network " + net + " (it has "
            + descriptor.networks().stream().map(OvfNetwork::name).toList() + ")");
      }
    }
    List<VirtualSystem> systems = descriptor.systems();
    Set<String> names = new HashSet<>();
    Set<String> usedDisks = new HashSet<>();
    for (VirtualSystem vs : systems) {
      VmConfiguration mapped = HardwareMapping.map(descriptor, vs, req.deploymentOption(), req.networks(), req.properties(),
          warnings);
      String name = vmName(req.name(), vs, systems.size());
      VmConfiguration c = media.plan(name, mapped);
      if (!names.add(name)) {
        throw OvfException.bad("two virtual systems would both be imported as VM " + name + "; give --name");
      }
      if (inventory.vms().list().stream().anyMatch(v -> v.name().equals(name))) {
        throw new OvfException("refused: VM " + name + " already exists (give another --name)");
      }
      List<Long> sizes = new ArrayList<>();
      List<List<String>> chains = new ArrayList<>();
      for (VmConfiguration.DiskDrive dd : c.disks()) {
        if (dd.diskId() == null && dd.capacityBytes() == 0) {
          continue;
        }
        if (dd.diskId() != null && !usedDisks.add(dd.diskId())) {
          throw OvfException.unsupported("disk " + dd.diskId() + " is attached twice; shared disks are not imported");
        }
        sizes.add(dd.capacityBytes());
        chains.add(dd.diskId() == null ? List.of() : chain(dd.diskId()));
      }
      if (sizes.isEmpty()) {
        throw OvfException.unsupported("VirtualSystem " + vs.id() + " has no disk; a vstore VM needs at least one");
      }
      planned.add(new PlannedVm(name, c, configJson(c, vs, eulas), sizes, chains, false));
    }
    planBase(req.name(), names);
    for (PlannedVm p : planned) {
      for (List<String> chain : p.chains()) {
        // A clone reads only its leaf from the package; a volume of its own reads the whole chain.
        for (String id : p.hasClones() && chain.size() > 1 ? chain.subList(chain.size() - 1, chain.size()) : chain) {
          totalBytes += descriptor.disk(id).orElseThrow().capacityBytes();
        }
      }
    }
    totalBytes += media.totalBytes();
    List<FileRef> refs = new ArrayList<>();
    for (FileReference f : descriptor.files()) {
      if (f.href().contains("://")) {
        throw OvfException.unsupported("file " + f.id() + " is a URL (" + f.href() + "); only files inside the package are imported");
      }
      refs.add(new FileRef(f.id(), f.href(), f.size() == null ? -1 : f.size(), f.chunkSize() == null ? 0 : f.chunkSize(),
          f.compression()));
    }
    pkg.expect(refs);
  }

  /**
   * Plans the base VM: one volume for each disk that an attached disk is a delta of (itself copied
   * whole, with its own chain when it is a delta too), first in the plan since the clones need it.
   */
  private void planBase(String requested, Set<String> names) throws OvfException {
    Set<String> parents = new java.util.LinkedHashSet<>();
    for (PlannedVm p : planned) {
      for (List<String> chain : p.chains()) {
        if (chain.size() > 1) {
          parents.add(chain.get(chain.size() - 2));
        }
      }
    }
    if (parents.isEmpty()) {
      return;
    }
    String prefix = vmName(requested != null ? requested : planned.getFirst().name(), null, 1);
    String name = (prefix.length() > 51 ? prefix.substring(0, 51) : prefix) + "-base";
    if (names.contains(name) || inventory.vms().list().stream().anyMatch(v -> v.name().equals(name))) {
      throw new OvfException("refused: VM " + name + " (for the disks the package's delta disks share) already exists"
          + " (give another --name)");
    }
    List<Long> sizes = new ArrayList<>();
    List<List<String>> chains = new ArrayList<>();
    for (String id : parents) {
      sizes.add(descriptor.disk(id).orElseThrow().capacityBytes());
      chains.add(chain(id));
    }
    ObjectNode json = JSON.createObjectNode();
    ObjectNode base = json.putObject("ovfBase");
    base.set("disks", JSON.valueToTree(List.copyOf(parents)));
    base.put("snapshot", BASE_SNAPSHOT);
    base.set("clones", JSON.valueToTree(planned.stream().filter(PlannedVm::hasClones).map(PlannedVm::name).toList()));
    json.put("importedFrom", pkg.name());
    planned.addFirst(new PlannedVm(name, null, json, sizes, chains, true));
  }

  /** Returns the disk ids from the base to {@code leaf}. */
  private List<String> chain(String leaf) {
    List<String> chain = new ArrayList<>();
    for (String at = leaf; at != null; at = descriptor.disk(at).orElseThrow().parentRef()) {
      chain.addFirst(at);
    }
    return chain;
  }

  private static String vmName(String requested, VirtualSystem vs, int count) {
    String base = requested == null ? vs.name() : count == 1 ? requested : requested + "-" + vs.name();
    StringBuilder b = new StringBuilder();
    for (char ch : base.toCharArray()) {
      b.append(Character.isLetterOrDigit(ch) && ch < 128 || ch == '.' || ch == '_' || ch == '-' ? ch : '-');
    }
    while (!b.isEmpty() && !Character.isLetterOrDigit(b.charAt(0))) {
      b.deleteCharAt(0);
    }
    String name = b.isEmpty() ? "vm" : b.toString();
    // Room for the "-diskNN" suffix of the VM's volumes within the 64-character name limit.
    return name.length() > 56 ? name.substring(0, 56) : name;
  }

  private void checkProperties(Map<String, String> values) throws OvfException {
    Map<String, List<OvfProperty>> known = new HashMap<>();
    for (ProductInfo p : descriptor.allProducts()) {
      for (OvfProperty prop : p.properties()) {
        known.computeIfAbsent(prop.key(), k -> new ArrayList<>()).add(prop);
        known.computeIfAbsent(prop.fullKey(), k -> new ArrayList<>()).add(prop);
      }
    }
    for (Map.Entry<String, String> e : values.entrySet()) {
      List<OvfProperty> props = known.get(e.getKey());
      if (props == null) {
        throw OvfException.bad("--prop " + e.getKey() + ": the package has no such property");
      }
      for (OvfProperty prop : props) {
        PropertyValues.check(prop, e.getValue());
      }
    }
  }

  private static void collectEulas(Content c, List<String> out) {
    out.addAll(c.eulas());
    if (c instanceof VirtualSystemCollection vsc) {
      for (Content m : vsc.members()) {
        collectEulas(m, out);
      }
    }
  }

  private ObjectNode configJson(VmConfiguration c, VirtualSystem vs, List<String> eulas) {
    ObjectNode n = JSON.createObjectNode();
    n.set(CONFIG_KEY, JSON.valueToTree(c));
    List<ProductInfo> products = new ArrayList<>(vs.products());
    if (descriptor.content() instanceof VirtualSystemCollection) {
      products.addAll(descriptor.content().products());
    }
    n.set("products", JSON.valueToTree(products));
    n.set("deploymentOptions", JSON.valueToTree(descriptor.deploymentOptions()));
    n.set("eulas", JSON.valueToTree(eulas));
    if (vs.operatingSystem() != null) {
      n.set("operatingSystem", JSON.valueToTree(vs.operatingSystem()));
    }
    n.put("importedFrom", pkg.name());
    return n;
  }

  /** The import's progress through the package: which volume each file fills, what is filled, what waits. */
  private static final class Targets {
    /** File id → (volume, disk id) pairs it fills, in the order given. */
    final Map<String, List<String[]>> byFile = new LinkedHashMap<>();
    /** Volume → disk ids already in it. */
    final Map<String, Set<String>> filled = new HashMap<>();
    /** Files the base VM still waits for. */
    final Set<String> baseFiles = new HashSet<>();
    /** Files of VMs not created yet (they wait for the base VM's snapshot). */
    final Set<String> waitingFiles = new HashSet<>();
    /** Parent disk id → the base VM's volume holding it. */
    final Map<String, String> baseVolumes = new HashMap<>();
    final List<PlannedVm> waiting = new ArrayList<>();
    String baseVm;
  }

  /** Creates the VMs and fills their volumes; on failure deletes what it created and rethrows. */
  public Result run(LongConsumer progress) throws IOException {
    Datastore store = inventory.datastore();
    List<String> created = new ArrayList<>();
    List<String> volumes = new ArrayList<>();
    long written = 0;
    try {
      Targets t = new Targets();
      for (PlannedVm p : planned) {
        if (p.hasClones()) {
          t.waiting.add(p);
          for (List<String> chain : p.chains()) {
            for (String id : chain.size() > 1 ? chain.subList(chain.size() - 1, chain.size()) : chain) {
              String file = descriptor.disk(id).orElseThrow().fileRef();
              if (file != null) {
                t.waitingFiles.add(file);
              }
            }
          }
          continue;
        }
        VirtualMachine vm = inventory.vms().create(p.name(), p.sizes(), p.json());
        created.add(vm.name());
        addTargets(p, vm, t, volumes);
        if (p.base()) {
          t.baseVm = vm.name();
          t.baseFiles.addAll(t.byFile.keySet());
          for (int i = 0; i < p.chains().size(); i++) {
            t.baseVolumes.put(p.chains().get(i).getLast(), vm.disks().get(i));
          }
        }
      }
      long[] base = {0};
      LongConsumer scaled = done -> progress.accept(base[0] + done);
      createClones(t, created, volumes);
      for (PackageFile f; (f = pkg.next()) != null; ) {
        List<String[]> into = t.byFile.get(f.ref().id());
        if (into == null) {
          if (t.waitingFiles.contains(f.ref().id())) {
            throw OvfException.unsupported("file " + f.ref().href() + " comes before the disks that the package's delta"
                + " disks are deltas of; their linked clones cannot be made yet");
          }
          if (media.holds(f.ref().id())) {
            base[0] += media.store(f, created, scaled);
            progress.accept(base[0]);
          }
          continue; // any other file: read (and verified) by the package layer, not stored
        }
        String first = null;
        for (String[] target : into) {
          checkChainOrder(target[0], target[1], t.filled);
          VirtualDisk disk = descriptor.disk(target[1]).orElseThrow();
          DiskReader reader = first == null ? DiskReader.open(f) : null;
          if (reader != null) {
            long cap = reader.capacity();
            long size = store.volumeInfo(target[0]).size();
            if (cap > size) {
              // A VHD rounds its size to a CHS geometry, other producers round to a grain: keep every byte.
              warnings.add("disk " + disk.id() + " in " + f.ref().href() + " holds " + cap + " bytes, more than its"
                  + " capacity in the descriptor (" + size + "): volume " + target[0] + " grown to fit");
              store.resizeVolume(target[0], cap, false);
            }
          }
          try (BlockDevice dev = store.volume(target[0])) {
            if (reader != null) {
              written += disk.parentRef() == null ? reader.copyTo(dev, scaled) : reader.applyDeltaTo(dev, scaled);
              first = target[0];
            } else {
              // A second volume needs the same file (a base under several deltas): copy the first one's result.
              try (BlockDevice src = store.volume(first, true)) {
                written += copy(src, dev, disk.parentRef() != null);
              }
            }
            dev.flush();
          }
          t.filled.computeIfAbsent(target[0], k -> new HashSet<>()).add(target[1]);
          base[0] += disk.capacityBytes();
          progress.accept(base[0]);
        }
        t.baseFiles.remove(f.ref().id());
        createClones(t, created, volumes);
      }
      pkg.finish();
      store.flush();
      return new Result(List.copyOf(created), List.copyOf(volumes), written, List.copyOf(warnings));
    } catch (IOException | RuntimeException | Error e) {
      // A cancelled job (its progress sink throws), a digest mismatch, a truncated archive: all or nothing.
      undo(created, e);
      throw e;
    }
  }

  /** Records which files fill VM {@code vm}'s volumes: a clone only its leaf, its parents being in it already. */
  private void addTargets(PlannedVm p, VirtualMachine vm, Targets t, List<String> volumes) {
    for (int i = 0; i < p.chains().size(); i++) {
      String volume = vm.disks().get(i);
      volumes.add(volume);
      List<String> chain = p.chains().get(i);
      boolean clone = p.hasClones() && chain.size() > 1;
      if (clone) {
        t.filled.computeIfAbsent(volume, k -> new HashSet<>()).addAll(chain.subList(0, chain.size() - 1));
      }
      for (String diskId : clone ? chain.subList(chain.size() - 1, chain.size()) : chain) {
        VirtualDisk disk = descriptor.disk(diskId).orElseThrow();
        if (disk.fileRef() != null) {
          t.byFile.computeIfAbsent(disk.fileRef(), k -> new ArrayList<>()).add(new String[] {volume, diskId});
        }
      }
    }
  }

  /**
   * Once the base VM holds every disk it waits for, snapshots it and creates the VMs waiting for it,
   * their delta disks as linked clones of that snapshot.
   */
  private void createClones(Targets t, List<String> created, List<String> volumes) throws IOException {
    if (t.waiting.isEmpty() || !t.baseFiles.isEmpty()) {
      return;
    }
    inventory.datastore().flush();
    inventory.vms().snapshot(t.baseVm, BASE_SNAPSHOT, "the disks " + pkg.name() + "'s delta disks are deltas of");
    for (PlannedVm p : t.waiting) {
      Map<Integer, SnapshotRef> clones = new HashMap<>();
      for (int i = 0; i < p.chains().size(); i++) {
        List<String> chain = p.chains().get(i);
        if (chain.size() > 1) {
          clones.put(i, new SnapshotRef(t.baseVolumes.get(chain.get(chain.size() - 2)), BASE_SNAPSHOT));
        }
      }
      VirtualMachine vm = inventory.vms().create(p.name(), p.sizes(), clones, p.json());
      created.add(vm.name());
      addTargets(p, vm, t, volumes);
    }
    t.waiting.clear();
    t.waitingFiles.clear();
  }

  /** Refuses a delta whose base was not yet copied into {@code volume} (a package that stores the delta first). */
  private void checkChainOrder(String volume, String diskId, Map<String, Set<String>> filled) throws OvfException {
    String parent = descriptor.disk(diskId).orElseThrow().parentRef();
    while (parent != null) {
      VirtualDisk p = descriptor.disk(parent).orElseThrow();
      if (p.fileRef() != null && !filled.getOrDefault(volume, Set.of()).contains(parent)) {
        throw OvfException.unsupported("delta disk " + diskId + " comes before its base " + parent + " in the package");
      }
      parent = p.parentRef();
    }
  }

  /**
   * Copies {@code src} whole onto {@code dst}; zeros are skipped on a volume that reads zeros, and
   * written ({@code overParent}) on one that holds a parent's data they must hide.
   */
  private static long copy(BlockDevice src, BlockDevice dst, boolean overParent) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(COPY_BUFFER);
    long written = 0;
    for (long off = 0; off < src.size(); off += COPY_BUFFER) {
      int n = (int) Math.min(COPY_BUFFER, src.size() - off);
      buf.clear().limit(n);
      src.read(off, buf);
      buf.flip();
      if (!allZero(buf)) {
        dst.write(off, buf);
        written += n;
      } else if (overParent) {
        dst.writeZeroes(off, n, false);
      }
    }
    return written;
  }

  private static boolean allZero(ByteBuffer b) {
    for (int i = b.position(); i < b.limit(); i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }

  private void undo(List<String> created, Throwable cause) {
    for (String name : created.reversed()) {
      try {
        inventory.vms().delete(name);
      } catch (IOException | RuntimeException e) {
        cause.addSuppressed(new IOException("could not delete the half-imported VM " + name, e));
      }
    }
  }

  @Override
  public void close() throws IOException {
    pkg.close();
  }
}
