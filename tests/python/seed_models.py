"""The seed report's PyTorch models and training loop, the ground truth for
anbn's numerics.

SeedModel is the seed's SimpleRNN / SimpleLSTM in one class, with the seed's
module names (``self.rnn``, ``self.lstm``; a GRU as ``self.gru``), so its
state_dict names are anbn's: ``embedding.*``, ``rnn.*`` / ``lstm.*`` /
``gru.*``, ``fc.*``.  The seed's classes themselves, verbatim, are in
seed_classes.py.  PeepholeLSTM is Gers & Schmidhuber's cell written from its
equations (DESIGN.md §2), a plain nn.Module: the peephole cell's ground truth.
"""
import math

import torch
import torch.nn as nn


class PeepholeLSTM(nn.Module):
    """nn.LSTM's interface and names (batch_first), plus weight_peephole_l{l}
    (3, H), rows i, f, o:  i = σ(W_ii x + b_ii + W_hi h' + b_hi + p_i ⊙ c'),
    f = σ(… + p_f ⊙ c'),  g = tanh(…),  c = f ⊙ c' + i ⊙ g,
    o = σ(… + p_o ⊙ c),  h = o ⊙ tanh(c)."""

    def __init__(self, input_size, hidden_size, num_layers=1, batch_first=True):
        super().__init__()
        assert batch_first
        self.hidden_size, self.num_layers = hidden_size, num_layers
        k = 1 / math.sqrt(hidden_size)
        for l in range(num_layers):
            shapes = [("weight_ih", (4 * hidden_size, input_size if l == 0 else hidden_size)),
                      ("weight_hh", (4 * hidden_size, hidden_size)), ("bias_ih", (4 * hidden_size,)),
                      ("bias_hh", (4 * hidden_size,)), ("weight_peephole", (3, hidden_size))]
            for name, shape in shapes:
                self.register_parameter(f"{name}_l{l}", nn.Parameter(torch.empty(shape).uniform_(-k, k)))

    def forward(self, x, state):
        h0, c0 = state
        hn, cn = [], []
        for l in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh, p = (getattr(self, f"{n}_l{l}") for n in
                                         ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_peephole"))
            h, c, out = h0[l], c0[l], []
            for t in range(x.shape[1]):
                a_i, a_f, a_g, a_o = (x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, 1)
                i = torch.sigmoid(a_i + p[0] * c)
                f = torch.sigmoid(a_f + p[1] * c)
                c = f * c + i * torch.tanh(a_g)
                h = torch.sigmoid(a_o + p[2] * c) * torch.tanh(c)
                out.append(h)
            x = torch.stack(out, 1)
            hn.append(h), cn.append(c)
        return x, (torch.stack(hn), torch.stack(cn))


CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU, "peephole": PeepholeLSTM}
MODULE = {"peephole": "lstm"}  # the state_dict prefix: the peephole cell is an LSTM


class SeedModel(nn.Module):
    def __init__(self, cell, input_size=4, hidden_size=2, output_size=3, num_layers=1):
        super().__init__()
        self.cell, self.module = cell, MODULE.get(cell, cell)
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(input_size, hidden_size)
        setattr(self, self.module, CELLS[cell](hidden_size, hidden_size, num_layers, batch_first=True))
        self.fc = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        x = self.embedding(input)
        output, hidden = getattr(self, self.module)(x, hidden)
        output = output[:, -1, :]
        output = self.fc(output)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        h = torch.zeros(self.num_layers, 1, self.hidden_size)
        if self.module == "lstm":
            return (h, torch.zeros(self.num_layers, 1, self.hidden_size))
        return h


def log_probs(model, seq):
    """Per-step log-probs over seq[:-1], one token at a time as the seed does."""
    out = []
    hidden = model.initHidden()
    with torch.no_grad():
        for t in range(len(seq) - 1):
            x = torch.LongTensor([seq[t]]).unsqueeze(0)
            output, hidden = model(x, hidden)
            out.append(output[0].clone())
    return torch.stack(out)


def train_epoch(model, optimizer, train_set, clip=None):
    """The seed's trainRNN/trainLSTM loop without its shuffle (order given);
    clip: torch.nn.utils.clip_grad_norm_ before each step."""
    criterion = nn.NLLLoss()
    total = 0.0
    for seq in train_set:
        loss = 0
        hidden = model.initHidden()
        for t in range(len(seq) - 1):
            x = torch.LongTensor([seq[t]]).unsqueeze(0)
            y = torch.LongTensor([seq[t + 1]])
            output, hidden = model(x, hidden)
            loss += criterion(output, y)
        loss = 1.0 * loss / len(seq)
        optimizer.zero_grad()
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += loss.item()
    return total / len(train_set)
