/* Reader for PyTorch checkpoints saved with torch.save(state_dict) (pytorch_model.bin).
 *
 * Format (PyTorch >= 1.6, the zip format): a zip archive whose entries are stored uncompressed,
 * all under one top folder ARCHIVE/: ARCHIVE/data.pkl, a pickle (protocol 2) of the state dict in
 * which every tensor's storage is a persistent id ('storage', <storage type>, KEY, <device>,
 * NUMEL), its bytes being the entry ARCHIVE/data/KEY (NUMEL elements, little-endian);
 * ARCHIVE/byteorder ("little", when present) and ARCHIVE/version.
 *
 * A pickle is a program for Python's unpickler. This reader never runs one: it interprets the
 * opcodes that torch.save writes for a state dict and builds values from an allow-list of globals:
 * collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and
 * the storage types torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage.
 * Anything else (another global, a reduce of anything but those callables, an opcode outside the
 * set, a top-level object that is not a dict of name -> tensor) is refused with one line naming
 * the file and the offending name or opcode, before any tensor is handed out. A storage KEY is 1 to
 * 64 letters, digits or '_' (torch.save writes "0", "1", ...). Every tensor is checked against its
 * storage: the entry exists, is stored (not compressed), its size is NUMEL x the element size, and
 * the tensor (offset, shape, strides) is contiguous and inside it, an empty one's offset too.
 *
 * The legacy (pre-1.6, non-zip) format is refused with a message saying how to convert it.
 *
 * The result is an axf_st_file (include/axf/safetensors.h) whose tensors point into the mapped
 * file, so every reader of safetensors works on it unchanged; close it with axf_st_close. */
#ifndef AXF_TORCHBIN_H
#define AXF_TORCHBIN_H

#include "axf/common.h"
#include "axf/safetensors.h"

axf_st_file *axf_torchbin_open(const char *path, axf_err *err);

#endif
