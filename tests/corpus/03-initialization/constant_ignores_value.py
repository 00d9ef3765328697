# mistake: init_constant always fills with 1
# expect: init_constant=0
# feedback: value=3.5) the weights should all be 3.5
def init_constant(m, value=1.0):
    if isinstance(m, nn.Linear):
        nn.init.ones_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
