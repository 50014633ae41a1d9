#!/usr/bin/env python3
"""Key latency of the program in a tmux pane, measured through one tmux control-mode client
(tmux -C), so that no process is started per press: for each press, send-keys, then capture the
pane after every %output notification (and every 20 ms) until it shows the expected text.

usage: keylat.py SOCKET N KEY1 TEXT1 KEY2 TEXT2 ...
Presses N keys cycling through the (KEY, TEXT) pairs; prints one latency in microseconds a line.
Exit 1 when a press is not answered within 10 s."""
import os
import select
import subprocess
import sys
import time


def main():
    sock, n = sys.argv[1], int(sys.argv[2])
    pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
    p = subprocess.Popen(["tmux", "-L", sock, "-C", "attach"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, bufsize=0)
    fd = p.stdout.fileno()
    buf = b""

    def lines(timeout):
        """Yields complete lines read within timeout seconds."""
        nonlocal buf
        end = time.monotonic() + timeout
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                yield line
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return
            chunk = os.read(fd, 65536)
            if not chunk:
                raise SystemExit("tmux control client ended")
            buf += chunk

    seq = [0]

    def command(cmd):
        """Runs one command; returns its reply lines and whether output arrived meanwhile. A
        display-message with a fresh marker follows it, and the reply taken is the block just
        before the marker's: a reply that arrives late (the attach's own, on a loaded machine)
        can never be taken for this command's."""
        seq[0] += 1
        marker = b"keylat-%d" % seq[0]
        p.stdin.write(cmd.encode() + b"\ndisplay-message -p " + marker + b"\n")
        out, body, inside, prev = False, [], False, None
        while True:
            for line in lines(10):
                if line.startswith(b"%begin"):
                    inside, body = True, []
                elif line.startswith(b"%end") or line.startswith(b"%error"):
                    if inside and body == [marker]:
                        return (prev or []), out
                    if inside:
                        prev = body
                    inside = False
                elif inside:
                    body.append(line)
                elif line.startswith(b"%output"):
                    out = True
            else:
                raise SystemExit("no reply from tmux to: " + cmd)

    def shows(text):
        body, _ = command("capture-pane -p")
        return any(text.encode() in l for l in body)

    for _ in lines(0.3):  # the attach greeting and the first redraw
        pass
    for i in range(n):
        key, text = pairs[i % len(pairs)]
        t0 = time.monotonic()
        command("send-keys " + key)
        while not shows(text):
            if time.monotonic() - t0 > 10:
                print("no answer to %s within 10 s" % key, file=sys.stderr)
                return 1
            for line in lines(0.02):  # until the pane writes something
                if line.startswith(b"%output"):
                    break
        print(int((time.monotonic() - t0) * 1e6))
    p.stdin.close()
    p.wait(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
