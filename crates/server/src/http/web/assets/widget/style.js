// The widget's look, inside its shadow root: the host page's CSS cannot
// reach it, and it cannot leak out.

export const STYLE = `
:host{all:initial}
*{box-sizing:border-box}
[hidden]{display:none!important}
.cd{--cd-accent:#2563eb;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;text-align:left}
button{font:inherit;color:inherit}
button:focus-visible,textarea:focus-visible,a:focus-visible{outline:2px solid var(--cd-accent);outline-offset:2px}
#cd-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;padding:0;border:0;border-radius:50%;background:var(--cd-accent);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}
#cd-launcher svg,.cd-close svg{width:26px;height:26px;fill:currentColor}
#cd-launcher[aria-expanded=true] svg:first-child,#cd-launcher[aria-expanded=false] svg+svg{display:none}
.cd-dot{position:absolute;top:3px;right:3px;width:14px;height:14px;border-radius:50%;background:#e5484d;border:2px solid #fff}
#cd-panel{position:fixed;right:20px;bottom:88px;z-index:2147483001;width:370px;max-width:calc(100vw - 40px);height:540px;max-height:calc(100vh - 108px);display:flex;flex-direction:column;overflow:hidden;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25)}
.cd-head{display:flex;align-items:center;gap:8px;padding:10px 8px 10px 16px;background:var(--cd-accent);color:#fff}
.cd-title{flex:1;margin:0;font-size:16px;font-weight:600}
.cd-close{width:36px;height:36px;padding:5px;border:0;border-radius:50%;background:none;color:#fff;cursor:pointer}
.cd-close:hover,.cd-end:hover{background:rgba(255,255,255,.15)}
.cd-head button:focus-visible{outline-color:#fff}
.cd-end{padding:3px 10px;border:1px solid rgba(255,255,255,.6);border-radius:14px;background:none;color:#fff;font-size:12px;cursor:pointer;white-space:nowrap}
.cd-confirm{display:flex;align-items:center;gap:8px;padding:8px 12px;border-bottom:1px solid #e3e5e8;background:#fff;font-size:13px}
.cd-confirm span{flex:1}
.cd-confirm button{padding:3px 12px;border:1px solid #cfd3d8;border-radius:6px;background:#fff;cursor:pointer;font-size:13px}
.cd-confirm button:disabled{opacity:.6;cursor:default}
#cd-end-yes{border-color:#c62828;background:#c62828;color:#fff}
.cd-list{flex:1;overflow-y:auto;padding:14px 12px;display:flex;flex-direction:column;gap:10px;background:#f6f7f9}
.cd-empty{margin:auto 12px;color:#667085;text-align:center}
.cd-msg{position:relative;max-width:82%;display:flex;flex-direction:column;align-items:flex-start;align-self:flex-start}
.cd-msg[data-author=customer]{align-self:flex-end;align-items:flex-end}
.cd-msg[data-author=system]{align-self:center;align-items:center;max-width:92%}
.cd-bubble{padding:8px 12px;border:1px solid #e3e5e8;border-radius:14px;background:#fff;white-space:pre-wrap;overflow-wrap:anywhere}
[data-author=customer] .cd-bubble{border-color:transparent;background:var(--cd-accent);color:#fff}
[data-author=system] .cd-bubble{padding:0 4px;border:0;background:none;color:#667085;font-size:12px;font-style:italic;text-align:center}
.cd-bubble a{color:inherit;text-decoration:underline}
.cd-sending .cd-bubble{opacity:.65}
.cd-failed .cd-bubble{opacity:.65;border-color:#e5484d}
.cd-meta{display:flex;align-items:center;gap:6px;margin-top:2px;font-size:11px;color:#667085}
.cd-react,.cd-retry{padding:0 3px;border:0;background:none;cursor:pointer;color:#667085;font-size:12px;line-height:1.4}
.cd-react:hover{color:#1f2328}
.cd-retry{color:#c62828;text-decoration:underline}
.cd-reactions{display:flex;gap:3px;margin-top:3px}
.cd-reactions:empty{display:none}
.cd-reactions span{padding:0 6px;border:1px solid #e3e5e8;border-radius:10px;background:#fff;font-size:13px}
.cd-picker{position:absolute;top:100%;left:0;z-index:1;display:flex;gap:2px;margin-top:2px;padding:3px;border:1px solid #e3e5e8;border-radius:20px;background:#fff;box-shadow:0 2px 10px rgba(0,0,0,.15)}
.cd-emoji{width:32px;height:32px;padding:0;border:0;border-radius:50%;background:none;font-size:18px;line-height:1;cursor:pointer}
.cd-emoji:hover,.cd-emoji:focus-visible{background:#eef2ff}
.cd-status{padding:4px 12px;background:#fff8e1;color:#8a5a00;font-size:12px}
.cd-status:empty{display:none}
.cd-form{display:flex;align-items:flex-end;gap:8px;padding:10px;border-top:1px solid #e3e5e8;background:#fff}
#cd-input{flex:1;min-height:38px;max-height:120px;padding:8px 10px;resize:none;border:1px solid #cfd3d8;border-radius:8px;background:#fff;color:inherit;font:inherit}
.cd-attach{flex:none;width:38px;height:38px;padding:7px;border:0;border-radius:8px;background:none;color:#667085;cursor:pointer}
.cd-attach:hover{background:#f0f2f5;color:#1f2328}
.cd-attach svg{width:24px;height:24px;fill:currentColor}
.cd-atts{display:flex;flex-direction:column;align-items:inherit;gap:4px;max-width:100%}
.cd-att-open{display:block;line-height:0}
.cd-att-img{display:block;max-width:200px;max-height:200px;min-width:40px;min-height:40px;border:1px solid #e3e5e8;border-radius:10px;background:#fff;object-fit:contain}
.cd-att-file{display:flex;align-items:baseline;gap:8px;max-width:100%;padding:8px 12px;border:1px solid #e3e5e8;border-radius:10px;background:#fff;color:#1f2328;cursor:pointer;text-align:left}
.cd-att-file:hover{border-color:var(--cd-accent)}
.cd-att-file:disabled{opacity:.6;cursor:progress}
.cd-att-name{font-weight:600;overflow-wrap:anywhere}
.cd-att-name::before{content:"↓ ";color:#667085}
.cd-att-size{flex:none;color:#667085;font-size:12px}
#cd-send{height:38px;padding:0 14px;border:0;border-radius:8px;background:var(--cd-accent);color:#fff;font-weight:600;cursor:pointer}
.cd-foot{padding:0 12px 8px;background:#fff;text-align:right}
.cd-help-link{padding:0 2px;border:0;background:none;color:var(--cd-accent);font-size:12px;text-decoration:underline;cursor:pointer}
.cd-help-link:disabled{opacity:.6;cursor:default}
@media (max-width:480px){#cd-panel{top:0;right:0;bottom:0;left:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0}}
@media (prefers-reduced-motion:no-preference){#cd-panel{animation:cd-in .15s ease-out}}
@keyframes cd-in{from{opacity:0;transform:translateY(8px)}}
`;
