# mistake: none: nn.Sequential built from an OrderedDict
# expect: full
from collections import OrderedDict


def block2(n=4):
    return nn.Sequential(OrderedDict((f"block {i}", block1()) for i in range(n)))
