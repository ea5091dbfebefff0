package io.vstore.cli;

import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * Builds only the part of the command tree that a command line uses. picocli reads every command
 * class below a group when it builds the group (fields, mixins, annotations, converters): for a
 * short command that was the largest part of its start-up. A command line that names a command
 * gets a chain of bare groups down to that one command. Anything else gets the group as picocli
 * builds it from its annotation, so that help, suggestions for a misspelt word and usage errors
 * stay exactly those of the whole tree: a command line whose next word is missing, an option or
 * not a subcommand; and a group that has options, parameters or a body of its own.
 */
final class CommandTree {
  /** The global options that take a value, as the words of a command line are found past them. */
  private static final Set<String> GLOBAL_VALUED = Set.of("-D", "--datastore", "--remote", "--token", "--ca-cert");

  private CommandTree() {}

  /**
   * Adds to {@code root} the commands of {@code commands} (name to class, in help order) that
   * {@code args} use, and returns whether it added all of them: for null args, a command line with
   * no command word (such as {@code --help}), {@code help} and a word that names no command.
   */
  static boolean addCommands(CommandLine root, List<Map.Entry<String, Class<?>>> commands, String[] args) {
    int first = args == null ? -1 : wordAt(args, 0);
    if (first >= 0 && !args[first].equals("help")) {
      for (Map.Entry<String, Class<?>> c : commands) {
        if (c.getKey().equals(args[first])) {
          add(root, c.getKey(), c.getValue(), args, first + 1);
          return false;
        }
      }
    }
    for (Map.Entry<String, Class<?>> c : commands) {
      root.addSubcommand(c.getKey(), c.getValue());
    }
    return true;
  }

  /** Adds command {@code type} as {@code name} below {@code parent}: bare down to the word at {@code from}, if any. */
  private static void add(CommandLine parent, String name, Class<?> type, String[] args, int from) {
    int next = wordAt(args, from);
    Class<?> member = next < 0 ? null : bareGroupMember(type, args[next]);
    if (member == null) {
      parent.addSubcommand(name, type);
      return;
    }
    CommandLine group = new CommandLine(CommandSpec.create());
    add(group, args[next], member, args, next + 1);
    parent.addSubcommand(name, group);
  }

  /**
   * Returns the subcommand of {@code type} named {@code word} when {@code type} is a bare group
   * (see {@link #bare}), else null.
   */
  static Class<?> bareGroupMember(Class<?> type, String word) {
    Command command = type.getAnnotation(Command.class);
    if (command == null || command.subcommands().length == 0 || !bare(type)) {
      return null;
    }
    for (Class<?> sub : command.subcommands()) {
      Command c = sub.getAnnotation(Command.class);
      if (c != null && (c.name().equals(word) || Arrays.asList(c.aliases()).contains(word))) {
        return sub;
      }
    }
    return null;
  }

  /**
   * Returns whether {@code type} only groups commands: it runs nothing and declares no option,
   * parameter, mixin or spec of its own, so that a group built without it parses the same.
   */
  private static boolean bare(Class<?> type) {
    if (Runnable.class.isAssignableFrom(type) || Callable.class.isAssignableFrom(type)) {
      return false;
    }
    for (Field f : type.getDeclaredFields()) {
      if (declares(f)) {
        return false;
      }
    }
    for (Method m : type.getDeclaredMethods()) {
      if (declares(m) || m.isAnnotationPresent(Command.class)) {
        return false;
      }
    }
    return true;
  }

  private static boolean declares(AnnotatedElement e) {
    return e.isAnnotationPresent(Option.class) || e.isAnnotationPresent(Parameters.class)
        || e.isAnnotationPresent(Mixin.class) || e.isAnnotationPresent(ArgGroup.class)
        || e.isAnnotationPresent(Spec.class) || e.isAnnotationPresent(Unmatched.class);
  }

  /** Returns the first word of {@code args} past the global options, or null (see {@link #wordAt}). */
  static String firstWord(String[] args) {
    int i = wordAt(args, 0);
    return i < 0 ? null : args[i];
  }

  /**
   * Returns the index of the first word of {@code args} at or after {@code from} past the global
   * options, or -1 when another option (such as {@code --help}) or an {@code @file} comes first
   * or there is no word.
   */
  static int wordAt(String[] args, int from) {
    for (int i = from; i < args.length; i++) {
      String a = args[i];
      if (GLOBAL_VALUED.contains(a)) {
        i++;
      } else if (a.equals("--debug") || a.equals("--no-wait") || a.startsWith("-D")
          || a.indexOf('=') > 0 && GLOBAL_VALUED.contains(a.substring(0, a.indexOf('=')))) {
        continue;
      } else {
        return a.startsWith("-") || a.startsWith("@") ? -1 : i;
      }
    }
    return -1;
  }
}
