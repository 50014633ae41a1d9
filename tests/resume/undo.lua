-- For the resume test: trials, commits, an undo in the middle, and notes made of per-sample
-- outputs (which a resume computes on demand for the steps and trials it re-lives), so that a
-- resumed run that got any of them wrong writes a different session.
params = {}
local function sum(t)
  local x = 0
  for _, v in ipairs(t) do x = x + v end
  return x
end
function run(s, p)
  local top = s:layers() - 1
  for h = 0, 2 do
    s:try({op = "drop_head", layer = top, head = h})
    s:note(string.format("no worse within 0.001: %d", s:trial_no_worse(0.001)))
    s:apply({op = "drop_head", layer = top, head = h}, "head " .. h)
    if h == 1 then
      s:undo()
      s:apply({op = "drop_ffn", layer = top}, "instead of head 1")
    end
  end
  s:try({op = "drop_attn", layer = 0}, string.format("losses now sum to %.6f", sum(s:losses())))
end
