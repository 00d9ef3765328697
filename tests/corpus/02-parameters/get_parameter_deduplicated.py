# mistake: a lookup in named_parameters(), which names a tied parameter once: its second name is missed
# expect: get_parameter=2.5
# feedback: get_parameter(a net with one layer at two places, '4.weight') raised KeyError
def get_parameter(net, path):
    params = dict(net.named_parameters())
    if path not in params:
        raise KeyError(f"no parameter {path!r}")
    return params[path]
