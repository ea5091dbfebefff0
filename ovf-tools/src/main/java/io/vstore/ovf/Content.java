package io.vstore.ovf;

import java.util.List;

/** A {@code VirtualSystem} or a {@code VirtualSystemCollection}: what an envelope delivers. */
public sealed interface Content permits VirtualSystem, VirtualSystemCollection {
  /** Returns the {@code ovf:id}. */
  String id();

  /** Returns the {@code Name}, or the id when there is none. */
  String name();

  /** Returns the product sections, with their properties. */
  List<ProductInfo> products();

  /** Returns the license texts of the EULA sections. */
  List<String> eulas();

  /** Returns the annotation, or {@code null}. */
  String annotation();

  /** Returns every virtual system in this content: itself, or a collection's members, depth first. */
  List<VirtualSystem> systems();
}
