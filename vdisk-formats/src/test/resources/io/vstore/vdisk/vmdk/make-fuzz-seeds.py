# Writes the tiny seed images of VmdkFuzzTest (qemu-img check: no errors): python3 make-fuzz-seeds.py
import struct, zlib, os
S=512
def header(version, flags, cap, grain, doff, dsize, gtes, rgd, gd, overhead, comp):
    h=struct.pack('<IIIQQQQIQQQB', 0x564d444b, version, flags, cap, grain, doff, dsize, gtes, rgd, gd, overhead, 0)
    h+=b'\n \r\n'+struct.pack('<H', comp)
    return h.ljust(S, b'\0')
def desc(ctype, name, sectors):
    return ('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="%s"\n\n# Extent description\nRW %d SPARSE "%s"\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = "ide"\n' % (ctype, sectors, name)).encode()
# sparse: capacity 32 sectors, grain 4 sectors, 8 GTEs per table: one table
cap, g, gtes = 32, 4, 8
f = bytearray()
f += header(1, 3, cap, g, 1, 1, gtes, 2, 3, 6, 0)
f += desc('monolithicSparse', 'sparse.vmdk', cap).ljust(S, b'\0')
f += struct.pack('<I', 4).ljust(S, b'\0')   # RGD -> RGT at 4
f += struct.pack('<I', 5).ljust(S, b'\0')   # GD -> GT at 5
gt = struct.pack('<8I', 6, 0, 10, 0, 0, 0, 0, 0)
f += gt.ljust(S, b'\0') + gt.ljust(S, b'\0')
f += bytes([0x11]) * (g*S) + bytes(range(256)) * (g*S//256)
open('sparse.vmdk','wb').write(f)
# stream: grains compressed with markers, GT/GD at end, footer, EOS
s = bytearray()
s += header(3, 0x30001, cap, g, 1, 1, gtes, 0, 0xffffffffffffffff, 2, 1)
s += desc('streamOptimized', 'stream.vmdk', cap).ljust(S, b'\0')
entries = [0]*gtes
for idx, data in ((0, bytes([0x22])*(g*S)), (3, b'vstore stream seed '*107 + bytes(g*S - 19*107))):
    entries[idx] = len(s)//S
    c = zlib.compress(data)
    m = struct.pack('<QI', idx*g, len(c)) + c
    s += m.ljust((len(m)+S-1)//S*S, b'\0')
def meta(val, typ): return struct.pack('<QII', val, 0, typ).ljust(S, b'\0')
s += meta(1, 1); gtsec = len(s)//S; s += struct.pack('<8I', *entries).ljust(S, b'\0')
s += meta(1, 2); gdsec = len(s)//S; s += struct.pack('<I', gtsec).ljust(S, b'\0')
s += meta(1, 3); s += header(3, 0x30001, cap, g, 1, 1, gtes, 0, gdsec, 2, 1)
s += meta(0, 0)
open('stream.vmdk','wb').write(s)
