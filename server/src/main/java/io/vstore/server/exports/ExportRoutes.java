package io.vstore.server.exports;

import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Router;
import java.util.List;

/** The {@code /api/v1/exports} resource: list, add, show and remove NBD exports. */
public final class ExportRoutes {
  /**
   * The body of {@code POST /api/v1/exports}.
   *
   * @param spec {@code VOLUME}, {@code VOLUME@SNAP} or an absolute image file path
   * @param name the export name (default: the volume, snapshot or file name)
   * @param readOnly whether to refuse writes
   * @param dirtyBitmaps change ids to offer as dirty bitmaps
   * @param datastore the datastore's name when the daemon owns several
   */
  record AddRequest(String spec, String name, Boolean readOnly, List<String> dirtyBitmaps, String datastore) {}

  private ExportRoutes() {}

  /** Adds the export routes to {@code router}. */
  public static void register(Router router, ExportManager exports) {
    router.add("GET", "/api/v1/exports", Scope.READ, "The NBD exports with their connected clients.",
        ex -> ex.json(200, exports.list()));
    router.add("POST", "/api/v1/exports", Scope.WRITE, "Add an NBD export of a volume, snapshot or image file.", ex -> {
      AddRequest req = ex.body(AddRequest.class);
      if (req.spec() == null) {
        throw ApiException.badRequest("spec is required: VOLUME, VOLUME@SNAP or an absolute image file path");
      }
      if (ExportSource.parse(req.spec(), null) instanceof ExportSource.ImageFileSource) {
        // Serving any file of the daemon's host is as strong as reading and writing it.
        ex.principal().require(Scope.ADMIN);
      }
      String datastore = req.datastore() != null ? req.datastore() : ex.query("datastore");
      ExportInfo added = exports.add(req.spec(), req.name(), Boolean.TRUE.equals(req.readOnly()), req.dirtyBitmaps(),
          datastore);
      ex.json(201, added);
    });
    router.add("GET", "/api/v1/exports/{name}", Scope.READ, "One NBD export with its connected clients.",
        ex -> ex.json(200, exports.get(ex.path("name"))));
    router.add("DELETE", "/api/v1/exports/{name}", Scope.WRITE,
        "Remove an NBD export; refused while clients are connected unless force=true.", ex -> {
          String force = ex.query("force");
          if (force != null && !force.equals("true") && !force.equals("false")) {
            throw ApiException.badRequest("force must be true or false, not '" + force + "'");
          }
          exports.remove(ex.path("name"), "true".equals(force));
          ex.noContent();
        });
  }
}
