package io.vstore.ovf;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Values given with {@code --prop} are checked against the property's type and qualifiers. */
class PropertyValuesTest {
  private static OvfProperty prop(String type, String qualifiers) {
    return new OvfProperty("k", "c.k", type, qualifiers, null, true, false, null, null, null, List.of());
  }

  @Test
  void typesAndQualifiersAreEnforced() {
    assertThatCode(() -> PropertyValues.check(prop("uint8", null), "255")).doesNotThrowAnyException();
    assertThatThrownBy(() -> PropertyValues.check(prop("uint8", null), "256")).hasMessageContaining("out of range for uint8");
    assertThatThrownBy(() -> PropertyValues.check(prop("sint16", null), "x")).hasMessageContaining("not an integer");
    assertThatCode(() -> PropertyValues.check(prop("sint16", null), "-32768")).doesNotThrowAnyException();
    assertThatThrownBy(() -> PropertyValues.check(prop("boolean", null), "yes")).hasMessageContaining("true or false");
    assertThatThrownBy(() -> PropertyValues.check(prop("string", "MinLen(3) MaxLen(5)"), "ab")).hasMessageContaining("MinLen(3)");
    assertThatThrownBy(() -> PropertyValues.check(prop("string", "MaxLen(5)"), "abcdef")).hasMessageContaining("MaxLen(5)");
    assertThatThrownBy(() -> PropertyValues.check(prop("uint32", "MinValue(10) MaxValue(20)"), "21"))
        .hasMessageStartingWith("bad ovf: --prop c.k=21: above MaxValue(20)");
    assertThatThrownBy(() -> PropertyValues.check(prop("string", "ValueMap{\"small\",\"large\"}"), "medium"))
        .hasMessageContaining("not one of [small, large]");
    assertThatCode(() -> PropertyValues.check(prop("string", "ValueMap{\"small\",\"large\"}"), "large")).doesNotThrowAnyException();
    assertThatCode(() -> PropertyValues.check(prop("real64", null), "1.5")).doesNotThrowAnyException();
    assertThatCode(() -> PropertyValues.check(prop("ip", null), "10.0.0.1")).doesNotThrowAnyException();
  }
}
