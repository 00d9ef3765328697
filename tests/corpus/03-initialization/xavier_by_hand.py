# mistake: none: the bound computed by hand, uniform_ under no_grad
# expect: full
import math


def init_xavier(m):
    if isinstance(m, nn.Linear):
        fan_out, fan_in = m.weight.shape
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        with torch.no_grad():
            m.weight.uniform_(-bound, bound)
