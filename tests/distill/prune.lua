-- A fixed, heavy pruning of the demo model for the distillation test: every shape compaction
-- produces (a dropped layer, one head left, a removed attention block, a narrower FFN), top-k and
-- threshold hard attention, one FFN block in int8; applied as one step, whatever the loss says.
name = "distill test: fixed pruning"
params = {}
function run(s, p)
  s:apply({
    {op = "drop_layer", layer = 1},
    {op = "drop_head", layer = 0, head = 1}, {op = "drop_head", layer = 0, head = 2},
    {op = "drop_head", layer = 0, head = 3},
    {op = "drop_group", layer = 2, group = 0}, {op = "drop_group", layer = 2, group = 3},
    {op = "drop_group", layer = 2, group = 5}, {op = "drop_group", layer = 2, group = 7},
    {op = "drop_group", layer = 2, group = 9}, {op = "drop_group", layer = 2, group = 11},
    {op = "drop_attn", layer = 3},
    {op = "set_hard", layer = 0, mode = "topk", k = 3},
    {op = "set_hard", layer = 2, mode = "threshold", threshold = 0.05},
    {op = "quantize", layer = 2, block = "ffn"},
  }, "fixed pruning")
end
