/** The {@code vstore} command: picocli subcommands over the vstore modules. */
package io.vstore.cli;
