-- Drops heads of the top layer one step at a time; reads the committed plan before each step,
-- so an undo made while it is paused is seen (the policy carries on from the restored state).
params = {count = 3}
seen = {}
function run(s, p)
  local top = s:layers() - 1
  for h = 0, p.count - 1 do
    seen[#seen + 1] = s:cursor()          -- history position when this step starts
    local r = s:try({op = "drop_head", layer = top, head = h}, "probe")
    s:note("kept for the test")
    s:apply({op = "drop_head", layer = top, head = h}, "step " .. h)
  end
end
