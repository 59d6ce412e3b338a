"""A mail server that accepts every message and appends it to a file: where the containers of
CI's pass 3 send their email, so the check can read what actually left (.ci/image-check).

Usage: python smtp_sink.py <port file> <mailbox file>. It listens on a free port of 127.0.0.1
and writes that port to <port file> once it accepts connections.
"""

import asyncio
import sys
from pathlib import Path


async def _session(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mailbox: Path
) -> None:
    def reply(line: str) -> None:
        writer.write(f"{line}\r\n".encode())

    reply("220 smtp-sink ready")
    while line := await reader.readline():
        verb = line.decode(errors="replace").strip().split(" ")[0].upper()
        if verb == "DATA":
            reply("354 end with <CRLF>.<CRLF>")
            await writer.drain()
            message = []
            while (data := await reader.readline()) not in (b".\r\n", b".\n", b""):
                message.append(data.decode(errors="replace"))
            with mailbox.open("a") as box:
                box.write("".join(message) + "\n.\n")
            reply("250 queued")
        elif verb == "QUIT":
            reply("221 bye")
            break
        else:  # EHLO, HELO, MAIL, RCPT, RSET, NOOP: accept everything
            reply("250 ok")
        await writer.drain()
    await writer.drain()
    writer.close()


async def _serve(port_file: Path, mailbox: Path) -> None:
    server = await asyncio.start_server(
        lambda reader, writer: _session(reader, writer, mailbox), "127.0.0.1", 0
    )
    port_file.write_text(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_serve(Path(sys.argv[1]), Path(sys.argv[2])))
