package io.vstore.offline.server;

import java.util.List;

/**
 * One check-out as the server keeps it ({@code checkouts/<id>.json}).
 *
 * @param id the check-out's id
 * @param vm the VM checked out
 * @param user the token (or local user) that checked it out
 * @param checkpoint the VM snapshot taken as the checkpoint
 * @param disks the disks included, with the change id the server copy had when it last matched the client's base
 * @param since when it was checked out (ISO-8601)
 * @param lastContact when the client last talked to the server
 * @param bytesOut bytes sent to the client (frames, compressed)
 * @param bytesBack bytes received at check-ins
 * @param checkins check-ins applied so far
 * @param state where it stands
 */
public record CheckoutRecord(String id, String vm, String user, String checkpoint, List<Disk> disks, String since,
    String lastContact, long bytesOut, long bytesBack, int checkins, CheckoutState state) {
  /** One disk of the check-out: its index in the VM, its volume, size and the base change id of the server copy. */
  public record Disk(int index, String volume, long size, String baseChangeId) {}

  /** Returns this record with other counters, contact time, disks and state. */
  CheckoutRecord with(List<Disk> newDisks, String contact, long out, long back, int n, CheckoutState s) {
    return new CheckoutRecord(id, vm, user, checkpoint, newDisks, since, contact, out, back, n, s);
  }
}
