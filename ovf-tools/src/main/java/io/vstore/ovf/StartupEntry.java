package io.vstore.ovf;

/** One {@code StartupSection/Item}: the order and delays a collection starts and stops its members with. */
public record StartupEntry(String id, int order, int startDelay, boolean waitingForGuest, int stopDelay,
    String startAction, String stopAction) {}
