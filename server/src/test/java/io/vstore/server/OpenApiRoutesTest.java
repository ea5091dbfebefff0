package io.vstore.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.http.Route;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks the served OpenAPI document against the daemon's routes in both directions: every
 * documented route is described with its method and its path parameters' names, and every
 * described operation is served. Written over the whole router, so it covers each part's routes
 * and fragment as they are added.
 */
class OpenApiRoutesTest {
  private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options",
      "trace");
  private static final Pattern PARAM = Pattern.compile("\\{([^}/]+)}");

  @TempDir static Path tmp;
  private static TestDaemon daemon;
  private static JsonNode doc;

  @BeforeAll
  static void start() throws Exception {
    daemon = TestDaemon.start(null, tmp.resolve("ds"));
    TestDaemon.Reply reply = daemon.unix("GET", "/api/v1/openapi.json", null);
    assertThat(reply.status()).isEqualTo(200);
    doc = reply.json();
  }

  @AfterAll
  static void stop() throws Exception {
    daemon.close();
  }

  private static List<Route> documentedRoutes() {
    return daemon.daemon().router().routes().stream().filter(Route::documented).toList();
  }

  /** Returns every described operation as "METHOD path". */
  private static Set<String> describedOperations() {
    Set<String> out = new TreeSet<>();
    for (Map.Entry<String, JsonNode> path : doc.path("paths").properties()) {
      for (Iterator<String> it = path.getValue().fieldNames(); it.hasNext(); ) {
        String method = it.next();
        if (METHODS.contains(method)) {
          out.add(method.toUpperCase(Locale.ROOT) + " " + path.getKey());
        }
      }
    }
    return out;
  }

  @Test
  void everyDocumentedRouteIsDescribed() {
    List<String> missing = new ArrayList<>();
    Set<String> described = describedOperations();
    for (Route r : documentedRoutes()) {
      if (!described.contains(r.method() + " " + r.pattern())) {
        missing.add(r.method() + " " + r.pattern());
      }
    }
    assertThat(documentedRoutes()).as("documented routes").isNotEmpty();
    assertThat(missing).as("routes served but not in the OpenAPI document (add them to openapi/<part>.json)")
        .isEmpty();
  }

  @Test
  void everyDescribedOperationIsServed() {
    Set<String> served = new TreeSet<>();
    for (Route r : documentedRoutes()) {
      served.add(r.method() + " " + r.pattern());
    }
    Set<String> notServed = new TreeSet<>(describedOperations());
    notServed.removeAll(served);
    assertThat(describedOperations()).as("described operations").isNotEmpty();
    assertThat(notServed).as("operations in the OpenAPI document that no route serves (method, path, {param} names)")
        .isEmpty();
  }

  @Test
  void everyPathParameterIsDeclaredAndEveryDeclaredOneIsInThePath() {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, JsonNode> path : doc.path("paths").properties()) {
      Set<String> inPath = new TreeSet<>();
      Matcher m = PARAM.matcher(path.getKey());
      while (m.find()) {
        inPath.add(m.group(1));
      }
      for (Map.Entry<String, JsonNode> op : path.getValue().properties()) {
        if (!METHODS.contains(op.getKey())) {
          continue;
        }
        Set<String> declared = new TreeSet<>();
        for (JsonNode list : List.of(path.getValue().path("parameters"), op.getValue().path("parameters"))) {
          for (JsonNode p : list) {
            if ("path".equals(p.path("in").asText())) {
              declared.add(p.path("name").asText());
            }
          }
        }
        if (!declared.equals(inPath)) {
          problems.add(op.getKey() + " " + path.getKey() + " declares path parameters " + declared + ", expected "
              + inPath);
        }
        if (!op.getValue().has("responses") || !op.getValue().has("summary")) {
          problems.add(op.getKey() + " " + path.getKey() + " lacks a summary or responses");
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void everyReferenceResolves() {
    List<String> broken = new ArrayList<>();
    collectBrokenRefs(doc, broken);
    assertThat(broken).as("$ref targets missing from the merged document").isEmpty();
  }

  private static void collectBrokenRefs(JsonNode node, List<String> broken) {
    if (node.isObject()) {
      JsonNode ref = node.get("$ref");
      if (ref != null && ref.isTextual()) {
        String target = ref.asText();
        if (!target.startsWith("#/") || doc.at(target.substring(1)).isMissingNode()) {
          broken.add(target);
        }
      }
      for (Map.Entry<String, JsonNode> e : node.properties()) {
        collectBrokenRefs(e.getValue(), broken);
      }
    } else if (node.isArray()) {
      for (JsonNode n : node) {
        collectBrokenRefs(n, broken);
      }
    }
  }
}
