-- Grows a table of big strings until the memory cap stops it.
params = {piece = 1000000}
function run(s, p)
  local t = {}
  local chunk = string.rep("x", p.piece)
  while true do
    t[#t + 1] = chunk .. #t   -- a new string each time
  end
end
