# mistake: transplant copies dst's children into src's
# expect: transplant=1.5
# feedback: copied dst's values into src
# cause: copied-into-src
def transplant(src, dst, n):
    pairs = list(zip(list(src.children())[:n], list(dst.children())[:n]))
    if len(pairs) < n:
        raise ValueError("not enough children")
    for a, b in pairs:
        sa, sb = a.state_dict(), b.state_dict()
        if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
            raise ValueError("the children differ")
    for a, b in pairs:
        a.load_state_dict(b.state_dict())
    return dst
