# mistake: get_parameter follows attributes, so a buffer's or a module's path returns that object
# expect: get_parameter=2
# feedback: get_parameter(rgnet(2), '0.block 1') should raise KeyError, it returned an object of type Sequential
import functools


def get_parameter(net, path):
    try:
        return functools.reduce(getattr, path.split("."), net)
    except AttributeError:
        raise KeyError(path) from None
