package io.vstore.offline.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.offline.Policy;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.Router;
import java.io.BufferedOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import org.eclipse.jetty.io.Content;

/** The {@code /api/v1/checkouts} and {@code /api/v1/checkout-policies} routes. */
final class CheckoutRoutes {
  private CheckoutRoutes() {}

  static void register(Router router, Checkouts c) {
    router.add("GET", "/api/v1/checkouts", Scope.READ, "List check-outs: who has which VM, since when, bytes out and back.",
        ex -> ex.json(200, c.list()));
    router.add("POST", "/api/v1/checkouts", Scope.WRITE,
        "Check a VM out: checkpoint snapshot, server copy locked, signed policy.", ex -> {
          JsonNode body = ex.bodyTree();
          String vm = body.path("vm").asText(null);
          if (vm == null || vm.isEmpty()) {
            throw ApiException.badRequest("the body needs \"vm\": the VM to check out");
          }
          ex.json(201, c.checkout(c.site(body.path("datastore").asText(null)), vm, ex.principal()));
        });
    router.add("GET", "/api/v1/checkouts/{id}", Scope.READ, "Show one check-out.",
        ex -> ex.json(200, c.find(ex.path("id")).getValue()));
    router.add("GET", "/api/v1/checkouts/{id}/disks/{disk}/data", Scope.WRITE,
        "Stream a range of a checked-out disk's checkpoint as checksummed, compressed frames.", ex -> {
          var e = c.find(ex.path("id"));
          int disk = intParam(ex.path("disk"), "disk");
          long offset = longParam(ex.query("offset"), "offset");
          long length = longParam(ex.query("length"), "length");
          // Checks run before the response starts, so a refusal is still a problem document.
          c.checkRange(e.getKey(), e.getValue().id(), disk, offset, length, ex.principal());
          try (OutputStream out = new BufferedOutputStream(ex.stream(200, "application/octet-stream"), 256 << 10)) {
            c.streamData(e.getKey(), e.getValue().id(), disk, offset, length, ex.principal(), out);
          }
        });
    router.add("POST", "/api/v1/checkouts/{id}/checkin", Scope.WRITE,
        "Check in: apply the changed blocks (a frame stream) all or nothing, snapshot, release the lock.", ex -> {
          var e = c.find(ex.path("id"));
          boolean keep = "true".equals(ex.query("keep"));
          boolean force = "true".equals(ex.query("force"));
          try (InputStream in = Content.Source.asInputStream(ex.request())) {
            ex.json(200, c.checkin(e.getKey(), e.getValue().id(), in, keep, force, ex.principal()));
          }
        });
    router.add("POST", "/api/v1/checkouts/{id}/contact", Scope.WRITE,
        "Report contact from the client; returns the policy signed anew (a new last trusted time).", ex -> {
          var e = c.find(ex.path("id"));
          ex.json(200, Map.of("policy", c.contact(e.getKey(), e.getValue(), ex.principal())));
        });
    router.add("POST", "/api/v1/checkouts/{id}/rollback", Scope.WRITE,
        "Roll a check-out back: discard the offline changes and release the lock.", ex -> {
          var e = c.find(ex.path("id"));
          ex.json(200, c.rollback(e.getKey(), e.getValue().id(), ex.principal()));
        });
    router.add("GET", "/api/v1/checkout-policies/{target}", Scope.READ,
        "Show the check-out policy stored for global, a VM or a pool, and the effective one.", ex -> {
          Checkouts.Site site = c.site(ex.query("datastore"));
          String target = ex.path("target");
          Policy stored = site.policies().stored(target);
          Policy effective = Policies.GLOBAL.equals(target) ? (stored == null ? Policy.DEFAULT : stored)
              : site.policies().effective(target, null);
          java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
          out.put("target", target);
          out.put("stored", stored);
          out.put("effective", effective);
          ex.json(200, out);
        });
    router.add("PUT", "/api/v1/checkout-policies/{target}", Scope.ADMIN,
        "Store the check-out policy of global, a VM or a pool (a VM's or pool's only narrows the global one).", ex -> {
          Checkouts.Site site = c.site(ex.query("datastore"));
          Policy p;
          try {
            p = ex.body(Policy.class);
          } catch (com.fasterxml.jackson.databind.JsonMappingException bad) {
            throw ApiException.badRequest("bad policy: " + bad.getOriginalMessage());
          }
          c.storePolicy(site, ex.path("target"), p);
          ex.json(200, p);
        });
  }

  private static int intParam(String v, String name) {
    long l = longParam(v, name);
    if (l > Integer.MAX_VALUE) {
      throw ApiException.badRequest(name + " " + v + " is too large");
    }
    return (int) l;
  }

  private static long longParam(String v, String name) {
    if (v == null) {
      throw ApiException.badRequest("missing query parameter " + name);
    }
    try {
      long l = Long.parseLong(v);
      if (l < 0) {
        throw ApiException.badRequest(name + " " + v + " is negative");
      }
      return l;
    } catch (NumberFormatException e) {
      throw ApiException.badRequest(name + " '" + v + "' is not a number");
    }
  }
}
