package io.vstore.cli;

import picocli.CommandLine.Command;

/**
 * {@code vstore backup ...}: backup repositories and the points in them. Each subcommand lives in its
 * own class; this group lists them.
 */
@Command(name = "backup", description = "Back up volumes and VMs into deduplicated, compressed, optionally encrypted "
    + "repositories (a directory), and look at the points in them. Restore with 'vstore restore'.",
    mixinStandardHelpOptions = true,
    subcommands = {BackupCreateCommand.class, BackupListCommand.class, BackupInfoCommand.class,
        BackupDiffCommand.class, BackupInitCommand.class, BackupCheckCommand.class, BackupVerifyCommand.class,
        BackupKeyCommand.class, BackupBenchCommand.class, BackupMountCommand.class, BackupUmountCommand.class,
        BackupPruneCommand.class, BackupProtectCommand.class, BackupGcCommand.class, BackupSyncCommand.class})
final class BackupCommand {}
