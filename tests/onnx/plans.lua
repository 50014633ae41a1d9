-- plans.lua: one fixed plan per kind, committed as a single step, for the ONNX export tests
-- (tests/onnx/ort_check.py) on the golden fixture's 3-layer model (4 heads, FFN 128).
name = "fixed test plan"

params = { kind = "dense" }

params_doc = { kind = "which plan: " ..
  "dense heads neurons blocks layers topk topk_renorm threshold int8 pruned mixed_f mixed" }

local plans = {
  dense = {},
  heads = {
    {op = "drop_head", layer = 0, head = 1},
    {op = "drop_head", layer = 2, head = 0},
    {op = "drop_head", layer = 2, head = 3},
  },
  neurons = {
    {op = "drop_group", layer = 0, group = 3, groups = 8},
    {op = "drop_neurons", layer = 1, neuron = 5, count = 40},
    {op = "drop_neurons", layer = 2, neuron = 0, count = 127},
  },
  blocks = {
    {op = "drop_attn", layer = 1},
    {op = "drop_ffn", layer = 2},
  },
  layers = {
    {op = "drop_layer", layer = 1},
  },
  topk = {
    {op = "set_hard", layer = 0, mode = "topk", k = 3},
    {op = "set_hard", layer = 2, mode = "topk", k = 8},
  },
  topk_renorm = {
    {op = "set_hard", layer = 1, mode = "topk_renorm", k = 2},
    {op = "set_hard", layer = 2, mode = "topk_renorm", k = 6},
  },
  threshold = {
    {op = "set_hard", layer = 0, mode = "threshold", threshold = 0.05},
    {op = "set_hard", layer = 2, mode = "threshold", threshold = 0.2},
  },
  int8 = {
    {op = "quantize", layer = 0, block = "attn"},
    {op = "quantize", layer = 0, block = "ffn"},
    {op = "quantize", layer = 1, block = "attn"},
    {op = "quantize", layer = 1, block = "ffn"},
    {op = "quantize", layer = 2, block = "attn"},
    {op = "quantize", layer = 2, block = "ffn"},
    {op = "quantize", block = "embed"},
  },
  pruned = {
    {op = "drop_head", layer = 0, head = 1},
    {op = "drop_head", layer = 0, head = 3},
    {op = "drop_group", layer = 0, group = 2, groups = 4},
    {op = "drop_layer", layer = 1},
    {op = "drop_attn", layer = 2},
    {op = "drop_neurons", layer = 2, neuron = 10, count = 30},
  },
  mixed_f = {
    {op = "drop_head", layer = 0, head = 2},
    {op = "drop_group", layer = 0, group = 1, groups = 4},
    {op = "set_hard", layer = 0, mode = "topk", k = 4},
    {op = "drop_layer", layer = 1},
    {op = "drop_ffn", layer = 2},
    {op = "set_hard", layer = 2, mode = "threshold", threshold = 0.1},
  },
}

-- mixed: mixed_f with layer 0 (partly pruned, hard attention) in int8
plans.mixed = {table.unpack(plans.mixed_f)}
table.insert(plans.mixed, {op = "quantize", layer = 0, block = "attn"})
table.insert(plans.mixed, {op = "quantize", layer = 0, block = "ffn"})

function run(s, p)
  local acts = plans[p.kind]
  assert(acts, "unknown kind " .. p.kind)
  if #acts > 0 then
    s:apply(acts, "onnx test plan " .. p.kind)
  end
end
