-- quantize_all.lua: the usual int8 baseline: every linear product of the encoder in int8 (weights
-- per output channel, inputs per token; include/axf/quant.h), whatever it does to the loss. Each
-- block is one step (bottom layer first, attention then FFN), so the session records what every
-- block costs; then, with embed = true, the word-embedding table (int8 rows with a scale per token:
-- no faster, a quarter of its bytes) as one more step. Nothing is removed.

name = "Quantize everything (int8)"

params = {
  blocks = "both",   -- "both", "attn" (Q, K, V and output projections) or "ffn"
  embed = true,      -- the word embeddings in int8 too
}

params_doc = {
  blocks = "both | attn | ffn: which blocks of every layer run in int8",
  embed = "also store the word embeddings in int8 (smaller file, not faster)",
}

function run(s, p)
  assert(p.blocks == "both" or p.blocks == "attn" or p.blocks == "ffn",
         "blocks must be both, attn or ffn (got " .. p.blocks .. ")")
  local base = s:baseline()
  for i = 0, s:layers() - 1 do
    for _, b in ipairs({"attn", "ffn"}) do
      local lp = s:layer(i)
      local on = (b == "attn" and lp.attn and not lp.int8_attn) or (b == "ffn" and lp.ffn and not lp.int8_ffn)
      if on and (p.blocks == "both" or p.blocks == b) then
        s:apply({op = "quantize", layer = i, block = b}, "int8 baseline")
      end
    end
  end
  if p.embed and not s:int8_embed() then
    s:apply({op = "quantize", block = "embed"}, "int8 baseline")
  end
  local now = s:eval()
  axf.log(string.format("quantize_all: %d steps; loss %.5f -> %.5f, size %.2f MB -> %.2f MB", s:cursor(),
                        base.loss, now.loss, base.size / 1e6, now.size / 1e6))
end
