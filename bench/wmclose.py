#!/usr/bin/python3
"""bench helper: asks top-level windows to close, as a window manager's close button does.

    wmclose.py NAME        every window whose title contains NAME (case-insensitive)
    wmclose.py ID...       the windows with these X ids (decimal, as xdotool prints them)
Prints how many windows were asked.
"""
import sys
from Xlib import X, display, protocol
d = display.Display()
root = d.screen().root
WM_DELETE = d.intern_atom('WM_DELETE_WINDOW'); WM_PROTOCOLS = d.intern_atom('WM_PROTOCOLS')
ids = {int(a) for a in sys.argv[1:] if a.isdigit()}
def walk(w):
    for c in w.query_tree().children:
        yield c
        yield from walk(c)
n = 0
for w in walk(root):
    try: name = w.get_wm_name()
    except Exception: continue
    wanted = w.id in ids if ids else (name and sys.argv[1].lower() in str(name).lower())
    if wanted and WM_DELETE in (w.get_wm_protocols() or []):
        ev = protocol.event.ClientMessage(window=w, client_type=WM_PROTOCOLS, data=(32, [WM_DELETE, X.CurrentTime, 0, 0, 0]))
        w.send_event(ev); n += 1
d.flush(); print(n)
