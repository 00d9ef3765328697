# mistake: transplant does not notice that n is larger than the number of children (zip stops early)
# expect: transplant=2.75
# feedback: transplant(src, dst, 4) for models of 3 children should raise ValueError or IndexError
def transplant(src, dst, n):
    pairs = list(zip(list(src.children())[:n], list(dst.children())[:n]))
    states = []
    for source, target in pairs:
        state, wanted = source.state_dict(), target.state_dict()
        if state.keys() != wanted.keys() or any(state[k].shape != wanted[k].shape for k in state):
            raise ValueError("the children to transplant differ")
        states.append(state)
    for (_, target), state in zip(pairs, states):
        target.load_state_dict(state)
    return dst
