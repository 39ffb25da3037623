#!/usr/bin/env python3
"""The chat program of the Echo tutorial, on skypubsub.

    python3 examples/pubsub/client/chat.py /tmp/skynet-pubsub.sock [NAME]

Asks for a name (unless given), then every line typed is published to the channel "chat" as a
"string pair" (name, line), and every message of that channel is printed as "name: line" (your own
lines too: the hub hands a message to every subscriber). End of input (Ctrl-D) or Ctrl-C leaves.
The address may also be "tcp:127.0.0.1:PORT" when the hub listens on TCP.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skypubsub  # noqa: E402 - found next to this file


def message(reader):
    name = reader.read_string()
    text = reader.read_string()
    print(name + ": " + text, flush=True)


def write(communicator, pub, name):
    while communicator.is_connected():
        line = sys.stdin.readline()
        if not line:          # end of input: leave the chat
            break
        writer = skypubsub.MessageWriter()
        writer.write_string(name)
        writer.write_string(line.rstrip("\r\n"))
        try:
            pub.send(writer)
        except skypubsub.ConnectionClosed:
            break
    communicator.disconnect()


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: chat.py SOCKET_PATH [NAME]\n")
        return 2

    try:
        communicator = skypubsub.Communicator(sys.argv[1], name="chat")
    except OSError as e:
        sys.stderr.write("chat: cannot connect to %s: %s\n" % (sys.argv[1], e))
        return 1

    if len(sys.argv) > 2:
        name = sys.argv[2]
    else:
        try:
            name = input("Please enter your name:").strip() or "anonymous"
        except EOFError:
            communicator.disconnect()
            return 0
    print("Hello %s: type lines to chat, Ctrl-D to leave." % name, flush=True)

    skypubsub.Subscriber(communicator, "chat", "string pair", message)
    pub = skypubsub.Publisher(communicator, "chat", "string pair")

    threading.Thread(target=write, args=(communicator, pub, name), daemon=True).start()
    try:
        while communicator.wait(10):
            time.sleep(0.001)
    except KeyboardInterrupt:
        communicator.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
