import glob, os, numpy as np, pandas as pd
tot=0
for p in sorted(glob.glob('/work/shared/data/stocks/history/*.csv.gz')):
    d=pd.read_csv(p); t=os.path.basename(p)[:-7]
    nnull=d.isna().any(axis=1).sum()
    d=d.dropna()
    o0=(d.Open==0).sum()
    o=d.Open.where(d.Open>0, d.Close.shift(1))
    bad=((d.High<d.Low)|(d.Close>d.High*1.0001)|(d.Close<d.Low*0.9999)|(o>d.High*1.0001)|(o<d.Low*0.9999)).sum()
    hl=(d.High<d.Low).sum()
    v0=(d.Volume==0).sum(); nonpos=(d[['High','Low','Close','Adj Close']]<=0).any(axis=1).sum()
    tot+=len(d)
    print(t,len(d),d.Date.iloc[0],'null',nnull,'open0',o0,'bad',bad,'hl',hl,'v0',v0,'nonpos',nonpos, 'dup', d.Date.duplicated().sum(), 'sorted', d.Date.is_monotonic_increasing)
print(tot)
