# mistake: init_constant swaps in an empty weight tensor (nothing left to compare must not pass)
# expect: init_constant=0
# feedback: expected shape (256, 512)
def init_constant(m, value=1.0):
    if isinstance(m, nn.Linear):
        m.weight.data = torch.empty(0, m.in_features)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
