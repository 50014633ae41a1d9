-- onnx_plans.lua: the plans of bench/onnx_compact.sh (the compacted model on ONNX Runtime against
-- the original), one step per layer (a step holds at most 64 actions), on any model size. kind:
--   heads   half the heads of every layer (the first nh/2)
--   ffn     the FFN block of every other layer (odd layers)
--   groups  half of the 12 neuron groups of every layer
--   layers  the upper half of the layers
--   mixed   a quarter of the heads and of the neuron groups of every layer, and the top layer
name = "ONNX bench plans"
params = { kind = "heads" }
params_doc = { kind = "heads | ffn | groups | layers | mixed" }

function run(s, p)
  local L, any = s:layers(), false
  assert(({heads = 1, ffn = 1, groups = 1, layers = 1, mixed = 1})[p.kind], "unknown kind " .. p.kind)
  for i = 0, L - 1 do
    local acts = {}
    local function add(a) acts[#acts + 1] = a end
    local nh = s:heads(i)
    if p.kind == "heads" then
      for h = 0, nh // 2 - 1 do add({op = "drop_head", layer = i, head = h}) end
    elseif p.kind == "ffn" and i % 2 == 1 then
      add({op = "drop_ffn", layer = i})
    elseif p.kind == "groups" then
      for g = 0, 5 do add({op = "drop_group", layer = i, group = g, groups = 12}) end
    elseif p.kind == "layers" and i >= L // 2 then
      add({op = "drop_layer", layer = i})
    elseif p.kind == "mixed" then
      if i == L - 1 then
        add({op = "drop_layer", layer = i})
      else
        for h = 0, nh // 4 - 1 do add({op = "drop_head", layer = i, head = h}) end
        for g = 0, 2 do add({op = "drop_group", layer = i, group = g, groups = 12}) end
      end
    end
    if #acts > 0 then
      s:apply(acts, "bench plan " .. p.kind .. " layer " .. i)
      any = true
    end
  end
  assert(any, "plan " .. p.kind .. " removes nothing from this model")
end
