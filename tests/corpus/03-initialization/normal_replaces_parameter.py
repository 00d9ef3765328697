# mistake: init_normal replaces the weight with a new nn.Parameter
# expect: init_normal=2
# feedback: put a new Parameter object in place
# feedback: Change the existing Parameter in place
def init_normal(m):
    if isinstance(m, nn.Linear):
        m.weight = nn.Parameter(torch.randn_like(m.weight) * 0.01)
        if m.bias is not None:
            m.bias = nn.Parameter(torch.zeros_like(m.bias))
