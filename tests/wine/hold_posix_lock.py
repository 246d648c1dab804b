"""Holds a POSIX (fcntl) lock on a file until killed, for the tests against the Windows build
under Wine: Wine's LockFileEx is a POSIX record lock on the Unix side and does not see the
flock(2) lock that the Linux std takes (Store::hold_tray_lock), so a test playing the tray for
a Wine sidecar holds the tray lock with this too. Prints "held" once the lock is taken.
Usage: python3 hold_posix_lock.py PATH"""
import fcntl, signal, sys

with open(sys.argv[1], "a") as f:
    fcntl.lockf(f, fcntl.LOCK_EX)
    print("held", flush=True)
    signal.pause()
