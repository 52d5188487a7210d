#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Test helper: proves what a guest ran without a guest OS (NOTES.md).
#   marker.py disk OUT WORD   a 1 MiB raw disk whose boot sector prints WORD on COM1, then halts
#   marker.py rom OUT WORD    a PCI option ROM for virtio-net (1af4:1000) printing WORD on COM1
#                             from its init entry (SeaBIOS runs it before booting any disk)
import struct, sys

def serial_print(word, base, cs_prefix):
    """16-bit code: print the NUL-terminated string at offset base+len(code) on 0x3f8."""
    msg = word.encode() + b"\r\n\0"
    # mov dx,0x3f8 ; mov si,MSG ; L: [cs] lodsb ; test al,al ; jz +3 ; out dx,al ; jmp L
    pre = b"\xba\xf8\x03"
    loop = (b"\x2e" if cs_prefix else b"") + b"\xac\x84\xc0\x74\x03\xee"
    return pre, loop, msg

def disk(out, word):
    # cli; xor ax,ax; mov ds,ax; <print>; hlt; jmp hlt
    pre, loop, msg = serial_print(word, 0, False)
    head = b"\xfa\x31\xc0\x8e\xd8" + pre
    mov_si_len = 3
    loop_at = len(head) + mov_si_len
    jmp_back = bytes([0xeb, (loop_at - (loop_at + len(loop) + 2)) & 0xff])
    tail = b"\xf4\xeb\xfd"
    msg_at = loop_at + len(loop) + 2 + len(tail)
    code = head + b"\xbe" + struct.pack("<H", 0x7c00 + msg_at) + loop + jmp_back + tail + msg
    sector = code.ljust(510, b"\0") + b"\x55\xaa"
    with open(out, "wb") as f:
        f.write(sector.ljust(1 << 20, b"\0"))

def rom(out, word):
    img = bytearray(512)
    img[0:3] = b"\x55\xaa\x01"
    code_at = 0x40
    img[3:5] = bytes([0xeb, code_at - 5])          # init entry: jmp short code
    struct.pack_into("<H", img, 0x18, 0x20)         # PCI data structure
    img[0x20:0x24] = b"PCIR"
    struct.pack_into("<HHHHB3sHHBBH", img, 0x24, 0x1af4, 0x1000, 0, 0x18, 0, b"\x00\x00\x02", 1, 0, 0, 0x80, 0)
    pre, loop, msg = serial_print(word, 0, True)
    head = b"\x50\x52\x56" + pre                   # push ax, dx, si
    loop_at = code_at + len(head) + 3
    jmp_back = bytes([0xeb, (loop_at - (loop_at + len(loop) + 2)) & 0xff])
    tail = b"\x5e\x5a\x58\xcb"                      # pop si, dx, ax; retf
    msg_at = loop_at + len(loop) + 2 + len(tail)
    code = head + b"\xbe" + struct.pack("<H", msg_at) + loop + jmp_back + tail + msg
    img[code_at:code_at + len(code)] = code
    img[511] = (-sum(img[:511])) & 0xff             # checksum: all bytes sum to 0
    with open(out, "wb") as f:
        f.write(bytes(img))

{"disk": disk, "rom": rom}[sys.argv[1]](sys.argv[2], sys.argv[3])
