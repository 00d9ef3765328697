# mistake: init_xavier scales the bound by ReLU's gain (sqrt 2)
# expect: init_xavier=1
# feedback: lies beyond the Xavier bound
def init_xavier(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("relu"))
