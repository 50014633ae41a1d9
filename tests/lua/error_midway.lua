-- Commits `steps` actions, then fails: the session keeps the committed steps and saves/loads.
params = {steps = 2}
function run(s, p)
  local done = 0
  for l = s:layers() - 1, 0, -1 do
    for h = 0, s:heads(l) - 1 do
      if done >= p.steps then
        local r = s:try({op = "drop_head", layer = l, head = h}) -- a trial in progress...
        error("deliberate failure after " .. done .. " steps")  -- ...is never committed
      end
      s:apply({op = "drop_head", layer = l, head = h}, "error_midway")
      done = done + 1
    end
  end
end
