# mistake: transplant checks the parameters' shapes only, so a buffer of another shape fails halfway through copying
# expect: transplant=2.5
# feedback: should raise ValueError, not RuntimeError
def transplant(src, dst, n):
    sources, targets = list(src.children()), list(dst.children())
    if n > min(len(sources), len(targets)):
        raise ValueError("not enough children")
    for a, b in zip(sources[:n], targets[:n]):
        if [p.shape for p in a.parameters()] != [q.shape for q in b.parameters()]:
            raise ValueError("the parameters differ")
    for a, b in zip(sources[:n], targets[:n]):
        b.load_state_dict(a.state_dict())
    return dst
